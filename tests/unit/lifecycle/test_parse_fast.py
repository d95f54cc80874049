"""The msgspec parser (``parse_event``) decides every event as the reference does.

Same accepted/rejected verdict, the same ``Event`` (compared by ``repr``: field values, their
types, enum members, payload key order), the same fingerprint (so nothing stored before is stored
twice) and the same rejection reason (gateways and tests read it), for valid events and for every
kind of damage: times with 1 to 9 fractional digits, Go's zero time, integers at and past 64 bits,
any text, deep nesting, wrong types, unknown fields.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdr.lifecycle.encode import encode_hook_call
from cdr.lifecycle.events import Event, Rejected, _parse_fast, event_from_row, parse_event, parse_event_reference
from cdr.simulator import generate
from tests.support.factories import bye, call, event
from tests.support.wire_strategies import json_values, stamps, valid_events

NOW = datetime(2026, 3, 29, tzinfo=UTC)
MANY = settings(
    max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)


def assert_same(raw) -> Event | Rejected:
    reference = parse_event_reference(raw, received_at=NOW)
    new = parse_event(raw, received_at=NOW)
    assert type(new) is type(reference), (raw, reference)
    assert repr(new) == repr(reference), raw
    assert new.fingerprint == reference.fingerprint
    if isinstance(reference, Rejected):
        assert new.reason == reference.reason
    return reference


def nested(depth: int, leaf) -> object:
    for i in range(depth):
        leaf = [leaf] if i % 2 else {"k": leaf}
    return leaf


# Times: the schema's forms (Z and offsets, 1..9 fractional digits), Go's zero time in any spelling,
# and what RFC 3339 or the year range refuses.
times = st.one_of(
    stamps,
    st.tuples(
        st.integers(1, 9999), st.integers(1, 12), st.integers(1, 28), st.integers(0, 23), st.integers(0, 59)
    ).flatmap(
        lambda p: st.tuples(
            st.text("0123456789", min_size=0, max_size=11),
            st.sampled_from(["Z", "+00:00", "-14:00", "+05:45", "", "z", "+0100"]),
            st.sampled_from(["T", " ", "t"]),
        ).map(
            lambda q: (
                f"{p[0]:04d}-{p[1]:02d}-{p[2]:02d}{q[2]}{p[3]:02d}:{p[4]:02d}:00" + (f".{q[0]}" if q[0] else "") + q[1]
            )
        )
    ),
    st.sampled_from(
        [
            "0001-01-01T00:00:00Z",
            "0001-01-01T01:00:00+01:00",
            "0001-01-01garbage",
            "9999-12-31T23:59:59-01:00",
            "2026-03-01T00:00:00.1234567890Z",
            "2026-02-30T00:00:00Z",
            "2026-03-01T00:00:00",
            "2026-03-01T00:00:00.999999999+00:00",
            "x" * 50,
            "",
        ]
    ),
)
ints = st.one_of(
    st.sampled_from([0, 1, 99, 100, 699, 700, 2**63 - 1, 2**63, 2**64 - 2, 2**64 - 1, 2**64, -1, 10**12, 10**12 + 1]),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
)
texts = st.one_of(
    st.text(max_size=40),  # any code point: NUL, unpaired surrogates, non-ASCII, DEL
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300),
    st.sampled_from(["inbound", "outbound", "INBOUND", "local", "remote", "unknown", "", "\x00", "\ud800", "é", "Ω"]),
)
nasty = st.one_of(
    json_values,
    times,
    ints,
    texts,
    st.none(),
    st.booleans(),
    st.floats(),
    st.integers(1, 80).map(lambda d: nested(d, "x")),
    st.dictionaries(texts, json_values, max_size=3),
)


@st.composite
def expired_events(draw):
    ev = {"type": "expired", "observed_at": draw(times), "call_id": draw(texts), "ended_at": draw(times)}
    return ev


@st.composite
def events(draw):
    """A valid event (any type, nanosecond times, labels, huge tenants) with 0..3 fields, top level
    or nested, replaced, added or removed."""
    ev = json.loads(json.dumps(draw(st.one_of(valid_events(), expired_events()))))
    ev.pop("occurred_at", None) and ev.setdefault("observed_at", draw(stamps))
    if draw(st.booleans()):
        ev["recording"] = draw(st.one_of(json_values, st.integers(1, 40).map(lambda d: nested(d, 1))))
    if draw(st.booleans()):
        ev["gateway_id"] = draw(st.one_of(ints, nasty))
    for _ in range(draw(st.integers(0, 3))):
        targets = [ev] + [ev[k] for k in ("call", "hangup") if isinstance(ev.get(k), dict)]
        if isinstance(ev.get("call"), dict) and isinstance(ev["call"].get("labels"), dict):
            targets.append(ev["call"]["labels"])
        target = draw(st.sampled_from(targets))
        keys = sorted(
            {*target, "type", "observed_at", "call", "hangup", "call_id", "started_at", "tenant_id", "labels"}
        )
        key = draw(st.sampled_from(keys))
        action = draw(st.sampled_from(["replace", "replace", "delete", "null"]))
        if action == "delete":
            target.pop(key, None)
        else:
            target[key] = None if action == "null" else draw(nasty)
    return ev


@MANY
@given(valid_events())
def test_every_valid_event_parses_the_same_and_takes_the_fast_path(raw):
    raw = dict(raw)
    if "occurred_at" in raw:
        raw["observed_at"] = raw.pop("occurred_at")
    assert isinstance(assert_same(raw), Event)
    assert _parse_fast(raw) is not None  # the compiled path covers the whole valid wire


@MANY
@given(events())
def test_damaged_events_get_the_same_verdict_fingerprint_and_reason(raw):
    assert_same(raw)


@MANY
@given(st.one_of(nasty, st.dictionaries(st.sampled_from(["type", "observed_at", "call", "hangup", "x"]), nasty)))
def test_any_json_value_gets_the_same_answer(raw):
    assert_same(raw)


@given(times, times)
def test_times_in_every_spelling_are_read_alike(observed, started):
    assert_same(event("ringing", meta=call(started_at=started), observed_at=observed))
    assert_same({**bye(1, 2), "hangup": {**bye(1, 2)["hangup"], "ended_at": started}, "observed_at": observed})
    assert_same({"type": "expired", "observed_at": observed, "call_id": "c@gw", "ended_at": started})


def test_edge_values_of_the_contract():
    for raw in [
        event("ringing", meta=call(tenant_id=2**64 - 2)),
        event("ringing", meta=call(tenant_id=2**64 - 1)),
        event("ringing", meta=call(tenant_id=2**64)),
        event("ringing", meta=call(started_at="0001-01-01T00:00:00Z")),
        event("ringing", meta=call(started_at="2026-03-29T00:30:00.123456789+02:00")),
        event("ringing", meta=call(call_id="ünïcödé@gw", codec="PCMA", remote_addr="Ω" * 255)),
        event("ringing", meta=call(remote_addr="Ω" * 256)),
        event("ringing", meta=call(local_ip="a\x00b")),
        event("ringing", meta=call(scenario="\ud800")),
        event("ringing", meta=call(direction=None)),
        event("ringing", meta=call(correlation_id=None, tenant_id=None, codec=None)),
        event("ringing", meta=call(labels={"from": "+33 1", "did": "é" * 256})),
        event("ringing", meta=call(labels={"bad key": "x"})),
        bye(1, 2, initiator="", sip_code=0, duration_ms=10**12),
        bye(1, 2, initiator=None, sip_code=None, duration_ms=None, reason=None),
        bye(1, 2, sip_code=99),
        {**bye(1, 2), "hangup": {}},
        {**bye(1, 2), "recording": nested(40, 1)},
        {**bye(1, 2), "recording": {"x": float("nan")}},
        {**bye(1, 2), "recording": {"big": 2**80}},
        {**event("ringing"), "event_id": "e" * 200, "gateway_id": 3},
        {**event("ringing"), "gateway_id": None},
        {**event("ringing"), "gateway_id": True},
        {**event("transfer_started"), "target_uri": "sip:é@x"},
        {
            "type": "bridge_started",
            "observed_at": "2026-03-01T00:00:00Z",
            "inbound_call_id": "a",
            "outbound_call_id": 1,
        },
        {"type": "expired", "observed_at": "2026-03-01T00:00:00Z", "call_id": "a", "ended_at": None},
        {**event("ringing"), "call": nested(5000, "x")},
        {**event("ringing"), 1: 2},
    ]:
        assert_same(raw)


def test_simulated_events_as_the_sink_hands_them_in_process():
    """Not JSON round-tripped: enum members where the wire has strings, as ``encode_hook_call`` makes them."""
    count = 0
    for sim in generate(200, seed=19, base_time=datetime(2026, 3, 1, tzinfo=UTC)):
        for step in sim.steps:
            raw = encode_hook_call(str(step.method), step.args, 1)
            assert_same(raw)
            assert_same(json.loads(json.dumps(raw)))
            count += 1
    assert count > 500


@MANY
@given(valid_events())
def test_a_stored_event_is_rebuilt_as_the_reference_rebuilds_it(raw):
    raw = dict(raw)
    raw["observed_at"] = raw.pop("occurred_at", None) or raw["observed_at"]
    parsed = parse_event_reference(raw, received_at=NOW)
    assert isinstance(parsed, Event)
    from cdr.lifecycle.events import _parse

    stored = dict(parsed.payload, observed_at=parsed.observed_at.isoformat())
    assert repr(event_from_row(parsed.payload, parsed.observed_at)) == repr(_parse(stored))
