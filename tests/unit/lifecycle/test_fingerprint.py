"""The fast content fingerprint must give every event the fingerprint the canonical encoder gives it:
stored events are deduplicated by it, so one differing byte would store a redelivery twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from cdr.lifecycle.encode import encode_hook_call
from cdr.lifecycle.events import Event, content_fingerprint, fingerprint, parse_event
from cdr.simulator import generate

# What a validated event's content holds: text (any code point), bounded ints, None, nested objects.
scalars = st.one_of(st.text(max_size=40), st.integers(min_value=-(2**63), max_value=2**64 - 1), st.none())
contents = st.recursive(
    st.dictionaries(st.text(max_size=12), scalars, max_size=8),
    lambda inner: st.dictionaries(st.text(max_size=12), st.one_of(scalars, inner), max_size=6),
    max_leaves=30,
)


@given(contents)
def test_the_fast_fingerprint_is_the_canonical_one(content):
    assert content_fingerprint(content) == fingerprint(content)


@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=30))
def test_every_ascii_character_including_controls_and_del_encodes_the_same(text):
    content = {"call": {"call_id": text, "tenant_id": 7}, "type": text}
    assert content_fingerprint(content) == fingerprint(content)


def test_simulated_events_keep_the_fingerprints_of_the_canonical_encoding():
    """The stored rows' rule, spelled out: blake2b-128 of json.dumps(sort_keys, compact) of the content."""
    import hashlib

    seen = 0
    for sim in generate(200, seed=3, base_time=datetime(2026, 3, 1, tzinfo=UTC)):
        for step in sim.steps:
            parsed = parse_event(encode_hook_call(str(step.method), step.args, 1), received_at=datetime.now(UTC))
            if not isinstance(parsed, Event) or parsed.type == "expired":
                continue
            content = {k: v for k, v in parsed.payload.items() if k not in ("recording", "event_id")}
            if parsed.type == "transfer_started":
                content["observed_at"] = parsed.observed_at.isoformat()
            canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
            assert parsed.fingerprint == hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()
            seen += 1
    assert seen > 500
