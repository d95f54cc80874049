"""Validation of the JSON event: every malformed input is a Rejected with a reason naming the field."""

from datetime import UTC, datetime, timedelta

import pytest

from cdr.hooks import CallMeta, Direction, HangupInitiator, HangupMeta, RecordingArtifact
from cdr.lifecycle.encode import encode_hook_call
from cdr.lifecycle.events import Event, Rejected, event_from_row, parse_event
from tests.support.factories import T0, bye, call, event

NOW = datetime(2026, 11, 26, tzinfo=UTC)


def parse(raw):
    return parse_event(raw, received_at=NOW)


def test_a_valid_ringing_event_parses():
    ev = parse(event("ringing"))
    assert isinstance(ev, Event)
    assert ev.call_id == "c1@gw" and ev.call.tenant_id == 7 and ev.call.started_at == T0
    assert ev.call.direction is Direction.INBOUND


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("not a dict", "event: expected an object"),
        ({"type": "hello", "observed_at": "2026-01-01T00:00:00Z"}, "type: unknown event type 'hello'"),
        # Valid RFC 3339, but past year 9999 (or before year 1) once in UTC.
        ({**event("ringing"), "observed_at": "9999-12-31T23:59:59-01:00"}, "observed_at: outside years 1 to 9999"),
        ({**event("ringing"), "observed_at": "0001-01-01T00:30:00+01:00"}, "observed_at: required"),  # Go's zero
        (event("ringing", meta=call(started_at="9999-12-31T23:30:00-00:45")), "call.started_at: outside years"),
        ({**bye(1, 2), "hangup": {**bye(1, 2)["hangup"], "ended_at": "9999-12-31T23:59:59-12:00"}}, "hangup.ended_at"),
        (event("ringing", meta=call(call_id="")), "call.call_id: required"),
        (event("ringing", meta=call(direction="inbound_reinvite")), "call.direction: unknown value"),
        (event("ringing", meta=call(started_at="2026-01-01T00:00:00")), "call.started_at: naive timestamp"),
        (event("ringing", meta=call(started_at="yesterday")), "call.started_at: not an RFC 3339"),
        (event("ringing", meta=call(started_at=None)), "call.started_at: required"),
        (event("ringing", meta=call(tenant_id=-1)), "call.tenant_id: -1 is outside"),
        (event("ringing", meta=call(tenant_id=2**64)), "call.tenant_id"),
        (event("ringing", meta=call(tenant_id="7")), "call.tenant_id: expected an integer"),
        (event("ringing", meta=call(tenant_id=True)), "call.tenant_id: expected an integer"),
        (bye(1, 2, duration_ms=-5), "hangup.duration_ms: -5 is outside"),
        (bye(1, 2, initiator="them"), "hangup.initiator: unknown value 'them'"),
        (bye(1, 2, sip_code=42), "hangup.sip_code: 42 is not a SIP status"),
        ({**bye(1, 2), "hangup": {**bye(1, 2)["hangup"], "ended_at": "2026-01-01 10:00"}}, "hangup.ended_at: naive"),
        ({**event("ringing"), "observed_at": None}, "observed_at: required"),
        (
            {"type": "bridge_started", "observed_at": "2026-01-01T00:00:00Z", "inbound_call_id": "a"},
            "outbound_call_id: required",
        ),
        ({**event("failed"), "hangup": "oops"}, "hangup: expected an object"),
    ],
)
def test_malformed_events_are_rejected_with_a_reason(raw, reason):
    result = parse(raw)
    assert isinstance(result, Rejected)
    assert reason in result.reason
    assert len(result.fingerprint) == 32


def test_rejected_events_keep_their_call_id_and_payload():
    raw = event("ringing", meta=call(call_id="x@gw", direction="sideways"))
    result = parse(raw)
    assert result.call_id == "x@gw" and result.payload["call"]["direction"] == "sideways"
    assert result.observed_at == T0


def test_fingerprint_ignores_when_an_event_was_seen_and_its_encoding():
    a = parse(event("established", 1.0))
    b = parse(event("established", 9.0, meta=call(started_at=T0.astimezone().isoformat().replace("+00:00", "Z"))))
    assert a.fingerprint == b.fingerprint
    assert parse(event("established", 1.0, meta=call(codec="pcmu"))).fingerprint != a.fingerprint


def test_expired_fingerprint_is_one_per_call():
    a = parse(
        {"type": "expired", "call_id": "c", "ended_at": "2026-01-01T00:00:00Z", "observed_at": "2026-01-02T00:00:00Z"}
    )
    b = parse(
        {"type": "expired", "call_id": "c", "ended_at": "2026-01-01T05:00:00Z", "observed_at": "2026-01-03T00:00:00Z"}
    )
    assert isinstance(a, Event) and a.fingerprint == b.fingerprint


def test_a_stored_event_round_trips():
    ev = parse(bye(3, 60))
    again = event_from_row(ev.payload, ev.observed_at)
    assert again == ev


def test_encoding_hook_calls_never_raises_and_carries_everything():
    meta = CallMeta(call_id="c", direction=Direction.OUTBOUND, tenant_id=2**64 - 1, started_at=T0)
    hang = HangupMeta(initiator=HangupInitiator.LOCAL, sip_code=408, duration=timedelta(seconds=3), ended_at=T0)
    raw = encode_hook_call("on_bye", (meta, hang, RecordingArtifact(payload=b"SN3abc")), 1_700_000_000_000_000_000)
    ev = parse(raw)
    assert isinstance(ev, Event)
    assert ev.call.tenant_id == 2**64 - 1 and ev.hangup.duration == timedelta(seconds=3)
    assert raw["recording"]["bytes"] == 6 and len(raw["recording"]["sha256"]) == 64
    assert raw["observed_at"].startswith("2023-11-14T22:13:20")
    weird = encode_hook_call("on_failed", (object(), None), 0)
    assert isinstance(parse(weird), Rejected)
    naive = encode_hook_call(
        "on_ringing", (CallMeta(call_id="c", direction="inbound", started_at=datetime(2026, 1, 1)),), 0
    )
    assert "naive" in parse(naive).reason


def test_observation_stamps_one_microsecond_apart_stay_distinct_and_ordered():
    from cdr.lifecycle.encode import encode_time_ns

    base = 1_764_000_000_123_456_500  # a half-microsecond phase: where float rounding merged them
    stamps = [encode_time_ns(base + 1000 * i) for i in range(1000)]
    assert len(set(stamps)) == 1000 and stamps == sorted(stamps)
    assert encode_time_ns(base) == "2025-11-24T16:00:00.123456+00:00"


def test_the_delivering_gateway_is_kept_but_is_not_part_of_the_events_identity():
    plain = parse(bye(3, 60))
    delivered = parse(dict(bye(3, 60), gateway_id=4))
    assert isinstance(delivered, Event) and delivered.payload["gateway_id"] == 4
    assert "gateway_id" not in plain.payload
    assert delivered.fingerprint == plain.fingerprint  # the same event from two paths is one event
    assert event_from_row(delivered.payload, delivered.observed_at) == delivered


@pytest.mark.parametrize("value", [0, -1, 2**63, "4", 4.0, True, None, [4]])
def test_a_gateway_id_that_is_not_a_positive_integer_is_rejected(value):
    result = parse(dict(event("ringing"), gateway_id=value))
    assert isinstance(result, Rejected) and result.reason.startswith("gateway_id: ")


def test_an_event_json_cannot_write_is_rejected_not_raised():
    """A sink handed a dict with a tuple key (any Python value reaches the hooks): an answer, not an error."""
    parsed = parse_event({"type": "bogus", (1, 2): 3}, received_at=T0)
    assert isinstance(parsed, Rejected) and parsed.reason == "type: unknown event type 'bogus'"
    assert parsed.payload == {"value": "{'type': 'bogus', (1, 2): 3}"}


# Fingerprints of events as main stored them before nanosecond times were accepted: a stored
# event must keep its identity, or a re-delivery would be stored a second time.
STORED_FINGERPRINTS = [
    (event("ringing", meta=call(started_at="2026-03-29T00:30:00.123456Z")), "19f75b82bbee517cbdfe353001a85004"),
    (bye(1, 2, meta=call(started_at="2026-03-29T02:30:00.5+02:00")), "f313dbfa37f02b63302f8924c57f3725"),
    (event("transfer_started", 1.25, target_uri="sip:q@pbx"), "a5964fe171c3a8da8aefbf0243f56423"),
]


@pytest.mark.parametrize("raw, fp", STORED_FINGERPRINTS, ids=lambda v: v if isinstance(v, str) else v["type"])
def test_fingerprints_of_events_stored_before_are_unchanged(raw, fp):
    assert parse(raw).fingerprint == fp


@pytest.mark.parametrize("digits", ["1234567", "12345678", "123456789", "123456999"])
def test_go_nanosecond_times_are_accepted_and_truncated_to_microseconds(digits):
    """Go's time.Time marshals RFC3339Nano: up to 9 fractional digits, in every time field."""
    stamp = f"2026-03-29T02:30:00.{digits}+02:00"
    raw = bye(1, 2, meta=call(started_at=stamp))
    raw["observed_at"] = stamp
    raw["hangup"]["ended_at"] = stamp
    ev = parse(raw)
    assert isinstance(ev, Event), ev
    micro = datetime(2026, 3, 29, 0, 30, 0, 123456, tzinfo=UTC)  # truncated, never rounded up
    assert ev.observed_at == ev.call.started_at == ev.hangup.ended_at == micro
    # Stored in the normalised microsecond form: the same payload and fingerprint as the
    # microsecond-truncated stamp would give, so the two are one event.
    assert ev.payload["call"]["started_at"] == ev.payload["hangup"]["ended_at"] == "2026-03-29T00:30:00.123456+00:00"
    six = bye(1, 2, meta=call(started_at="2026-03-29T00:30:00.123456Z"))
    six["observed_at"] = "2026-03-29T00:30:00.123456Z"
    six["hangup"]["ended_at"] = "2026-03-29T00:30:00.123456Z"
    assert ev.fingerprint == parse(six).fingerprint
    assert ev.fingerprint == parse(dict(raw)).fingerprint  # a re-post is the same event


@pytest.mark.parametrize("stamp", ["2026-03-29T00:30:00.1234567890Z", "2026-03-29T00:30:00.Z"])
def test_more_than_nine_fractional_digits_or_none_after_the_dot_are_rejected(stamp):
    result = parse(event("ringing", meta=call(started_at=stamp)))
    assert isinstance(result, Rejected) and "call.started_at: not an RFC 3339" in result.reason


@pytest.mark.parametrize(
    "zero", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000000000Z", "0001-01-01T01:00:00+01:00"]
)
def test_a_zero_started_at_is_valid_and_not_known_and_kept_in_one_spelling(zero):
    ev = parse(bye(5, 5, meta=call(started_at=zero)))
    assert isinstance(ev, Event) and ev.call.started_at is None
    assert ev.payload["call"]["started_at"] == "0001-01-01T00:00:00Z"
    assert ev.fingerprint == parse(bye(5, 5, meta=call(started_at="0001-01-01T00:00:00Z"))).fingerprint
    assert event_from_row(ev.payload, ev.observed_at) == ev  # the log reads it back
