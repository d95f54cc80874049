"""What the HTTP edge queues for the worker loads back as the very events the edge validated,
without a parse; a batch queued before (the wire JSON array) is still read as such."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings

from cdr.lifecycle.events import Event, parse_event
from cdr.lifecycle.handoff import FORMAT, event_wire, events_dump, events_load
from tests.support.factories import bye, call, event
from tests.support.wire_strategies import valid_events

NOW = datetime(2026, 3, 29, tzinfo=UTC)


def same(events) -> list[str]:
    """Reprs, labels in key order: the order a gateway sent them in is not kept (the payload's is sorted)."""
    return [repr(replace(e, labels=dict(sorted(e.labels.items())))) for e in events]


def parsed(raw) -> Event:
    raw = dict(raw)
    if "occurred_at" in raw:
        raw["observed_at"] = raw.pop("occurred_at")
    result = parse_event(raw, received_at=NOW)
    assert isinstance(result, Event)
    return result


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_events(), valid_events())
def test_queued_events_load_as_the_events_the_edge_validated(a, b):
    events = [parsed(a), parsed(b)]
    text = events_dump(events)
    assert json.loads(text)["format"] == FORMAT
    loaded = events_load(text)
    assert loaded == events and same(loaded) == same(events)
    # and as wire events they parse back to the same: the erasure path re-parses them masked
    assert same(parse_event(event_wire(e), received_at=NOW) for e in loaded) == same(events)


def test_every_kind_of_event_and_free_form_fields_past_64_bits():
    events = [
        parsed(event("ringing", meta=call(tenant_id=2**64 - 2, started_at="0001-01-01T00:00:00Z", labels={"to": "é"}))),
        parsed({**bye(1, 2), "recording": {"bytes": 2**80, "tag": "😀"}, "gateway_id": 4}),
        parsed({**bye(1, 2), "hangup": {"ended_at": None}}),
        parsed(event("transfer_started", target_uri="sip:a@b", observed_at="2026-03-29T00:30:00.123456789Z")),
        parsed(
            {
                "type": "bridge_started",
                "observed_at": "2026-03-29T00:30:00Z",
                "inbound_call_id": "a",
                "outbound_call_id": "b",
            }
        ),
        parsed(
            {
                "type": "expired",
                "observed_at": "2026-03-29T00:30:00Z",
                "call_id": "a",
                "ended_at": "2026-03-29T01:00:00+01:00",
            }
        ),
    ]
    assert same(events_load(events_dump(events))) == same(events)


def test_a_batch_queued_before_the_handoff_is_the_wire_array_it_was():
    old = json.dumps([{**event("ringing"), "gateway_id": 3}])
    assert events_load(old) == json.loads(old)


@pytest.mark.parametrize("text", ['{"format": 3, "events": []}', '{"events": []}', '"text"', "7"])
def test_an_unknown_format_is_an_error_that_names_it(text):
    with pytest.raises(ValueError, match="queued events: unknown format"):
        events_load(text)
