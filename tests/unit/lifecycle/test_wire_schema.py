"""The published JSON Schema and the validator agree: what the schema allows is accepted, what it
forbids is rejected, and no input makes the validator raise."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdr.hooks import CallMeta, Direction, HangupInitiator, HangupMeta, RecordingArtifact
from cdr.ingest.openapi import SCHEMA_FILE, event_openapi_schema
from cdr.lifecycle.encode import encode_hook_call
from cdr.lifecycle.events import Event
from cdr.lifecycle.wire import wire_event_parse
from tests.support.factories import bye, call, event, failed
from tests.support.wire_strategies import json_values, valid_events

SCHEMA = json.loads(SCHEMA_FILE.read_text())
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)
NOW = datetime(2026, 3, 29, tzinfo=UTC)


def accepted(raw) -> bool:
    return isinstance(wire_event_parse(raw, received_at=NOW)[1], Event)


def test_the_schema_file_is_valid_draft_7():
    jsonschema.Draft7Validator.check_schema(SCHEMA)


META = CallMeta(
    call_id="s@gw", direction=Direction.INBOUND, tenant_id=2**64 - 1, started_at=datetime(2026, 3, 29, tzinfo=UTC)
)
HANGUP = HangupMeta(initiator=HangupInitiator.REMOTE, sip_code=200, duration=timedelta(seconds=3))
SINK_EVENTS = [
    encode_hook_call("on_ringing", (META,), 1_800_000_000_000_000_000),
    encode_hook_call("on_established", (META,), 1_800_000_000_000_000_000),
    encode_hook_call("on_transfer_started", (META, "sip:a@b"), 1_800_000_000_000_000_000),
    encode_hook_call("on_bridge_started", ("s@gw", "t@gw"), 1_800_000_000_000_000_000),
    encode_hook_call(
        "on_bye", (META, HANGUP, RecordingArtifact(call_id="s@gw", payload=b"x")), 1_800_000_000_000_000_000
    ),
    encode_hook_call("on_failed", (META, HANGUP), 1_800_000_000_000_000_000),
]
FACTORY_EVENTS = [
    event("ringing", 0),
    event("transfer_started", 1, target_uri="sip:q@pbx"),
    event("bridge_started", 2, inbound_call_id="c1@gw", outbound_call_id="c2@gw"),
    bye(3, 3),
    failed(4, 4),
    dict(event("established", 1), event_id="gw-42/7"),
    event("ringing", 0, call(labels={"from": "+33612345678", "to": "+33184000007", "did": "+33184000007"})),
    event("ringing", 0, call(labels=None)),
    event("ringing", 0, call(started_at="2026-03-29 00:30:00.5Z")),
    # Go's time.Time (RFC3339Nano): nine fractional digits, in every time field.
    dict(
        bye(3, 3, call(started_at="2026-03-29T00:30:00.123456789Z")),
        observed_at="2026-03-29T02:30:01.1234567+02:00",
        hangup={"initiator": "remote", "sip_code": 200, "ended_at": "2026-03-29T00:30:09.12345678Z"},
    ),
]


@pytest.mark.parametrize("raw", SINK_EVENTS + FACTORY_EVENTS, ids=lambda e: e["type"])
def test_what_the_sink_sends_and_gateways_send_is_valid_for_both(raw):
    assert list(VALIDATOR.iter_errors(raw)) == []
    assert accepted(raw)


INVALID = [
    {"type": "ringing"},
    event("ringing", 0, call(started_at="2026-03-29T00:30:00")),  # naive
    event("ringing", 0, call(direction="sideways")),
    event("ringing", 0, call(tenant_id=-1)),
    event("ringing", 0, call(tenant_id=2**64)),
    event("ringing", 0, call(call_id="")),
    event("expired", 0, call_id="x@gw", ended_at="2026-03-29T00:40:00+00:00"),
    event("hold", 0),
    bye(3, 3, sip_code=42),
    bye(3, 3, initiator="nobody"),
    event("bridge_started", 2, inbound_call_id="c1@gw"),
    dict(event("ringing", 0), event_id="has space"),
    event("ringing", 0, call(call_id="nul\x00@gw")),
    bye(3, 3, reason="a\x00b"),
    dict(event("ringing", 0), event_id=""),
    dict(event("ringing", 0), occurred_at="2026-03-29T00:30:00Z"),
    event("ringing", 0, call(labels=["from"])),
    event("ringing", 0, call(labels={"from": 1})),
    event("ringing", 0, call(labels={"a b": "x"})),
    event("ringing", 0, call(labels={"k": "x" * 257})),
    event("ringing", 0, call(labels={f"k{i}": "" for i in range(17)})),
    *(
        event("ringing", 0, call(started_at=stamp))
        for stamp in (
            "2026-03-29T00:00+00:00",
            "20260329T000000Z",
            "2026-03-29T00:00:00+0000",
            "2026-03-29T00:00:00.1234567890+00:00",
            "2026-03-29T00:00:00+00:00:00",
            "2026-03-29",
            "2026-03-29t00:00:00z",
        )
    ),
]


@pytest.mark.parametrize("claim", [1, 0, None, "edge-2", {"id": 1}])
def test_a_gateway_id_sent_by_a_client_is_allowed_by_the_schema_and_ignored(claim):
    raw = dict(event("ringing", 0), gateway_id=claim)
    assert list(VALIDATOR.iter_errors(raw)) == []
    wire, parsed = wire_event_parse(raw, received_at=NOW)
    assert isinstance(parsed, Event) and "gateway_id" not in parsed.payload
    assert "gateway_id" not in wire  # the edge stamps its own when it publishes


@pytest.mark.parametrize("raw", INVALID)
def test_what_the_schema_forbids_is_rejected(raw):
    assert list(VALIDATOR.iter_errors(raw)) != []
    assert not accepted(raw)


@settings(max_examples=300, deadline=None)
@given(valid_events())
def test_every_event_the_schema_allows_is_accepted(raw):
    assert list(VALIDATOR.iter_errors(raw)) == []
    assert accepted(raw)


@st.composite
def mutants(draw):
    """A valid event with one field (top level or nested) replaced by a non-null value of any shape."""
    ev = json.loads(json.dumps(draw(valid_events())))
    target = ev
    if "call" in ev and draw(st.booleans()):
        target = ev["call"]
    elif ev.get("hangup") and draw(st.booleans()):
        target = ev["hangup"]
    key = draw(st.sampled_from(sorted(target)))
    target[key] = draw(json_values.filter(lambda v: v is not None))
    return ev


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(mutants())
def test_what_the_schema_forbids_in_a_mutated_event_is_rejected_and_nothing_raises(raw):
    verdict = wire_event_parse(raw, received_at=NOW)[1]  # never raises: Event or Rejected
    if list(VALIDATOR.iter_errors(raw)):
        assert not isinstance(verdict, Event), raw


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_value_is_an_answer_never_an_exception(raw):
    wire_event_parse(raw, received_at=NOW)


def test_the_bye_recording_summary_is_described_field_for_field():
    """The schema names every field the sink's summary carries, and the sink's summary fits it."""
    sink_bye = next(e for e in SINK_EVENTS if e["type"] == "bye")
    described = next(b for b in SCHEMA["oneOf"] if b["title"] == "bye")["properties"]["recording"]
    assert set(described["properties"]) == set(sink_bye["recording"])
    assert list(jsonschema.Draft7Validator(described).iter_errors(sink_bye["recording"])) == []


def test_the_openapi_component_is_the_file_in_openapi_dialect():
    component = event_openapi_schema()
    dumped = json.dumps(component)
    assert "$ref" not in dumped and "$schema" not in dumped and "definitions" not in dumped
    bye_variant = next(v for v in component["oneOf"] if v["title"] == "bye")
    ended = bye_variant["properties"]["hangup"]["properties"]["ended_at"]
    assert ended["type"] == "string" and ended["nullable"] is True
