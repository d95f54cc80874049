"""A wire event of any depth is checked without raising (issue 16, item 5)."""

from datetime import UTC, datetime

import pytest

from cdr.lifecycle.events import Rejected
from cdr.lifecycle.wire import MAX_JSON_DEPTH, json_depth_exceeds, wire_event_parse

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "bogus", "deep": nested(5000)},
        {"type": "ringing", "event_id": "bad id", "deep": nested(5000)},
        {"type": "ringing", "observed_at": "x", "occurred_at": "y", "deep": nested(5000)},
        {"type": "ringing", "observed_at": "2026-03-01T00:00:00Z", "call": {"deep": nested(5000)}},
    ],
)
def test_a_deep_event_is_rejected_not_raised(raw):
    _, parsed = wire_event_parse(raw, received_at=NOW)
    assert isinstance(parsed, Rejected) and len(parsed.fingerprint) == 32


def test_depth_counts_arrays_and_objects():
    assert not json_depth_exceeds(nested(MAX_JSON_DEPTH))
    assert json_depth_exceeds(nested(MAX_JSON_DEPTH + 1))
    assert json_depth_exceeds([{"a": [{"b": 1}]}], limit=3) and not json_depth_exceeds([{"a": [1]}], limit=3)
    assert not json_depth_exceeds(nested(100_000), limit=100_000) and json_depth_exceeds(nested(100_000), limit=99)
    assert not json_depth_exceeds("text") and not json_depth_exceeds(1)
