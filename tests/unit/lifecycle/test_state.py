"""The call's state merged chunk by chunk gives derive_call's record (and derive_transfers') of the set."""

import json
from datetime import datetime, timedelta
from itertools import pairwise

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from cdr.lifecycle.events import Event, parse_event
from cdr.lifecycle.fold import derive_call
from cdr.lifecycle.state import (
    STATE_VERSION,
    CallState,
    counting_scope,
    merge,
    merge_all,
    record_of,
    state_from_json,
    state_of,
    state_to_json,
    transfers_of,
)
from cdr.lifecycle.transfers import Leg, derive_transfers
from tests.support.factories import T0, bye, call, event, failed, iso

CALL = "c1@gw"
ZERO = "0001-01-01T00:00:00Z"
times = st.floats(min_value=0, max_value=120, allow_nan=False).map(lambda x: round(x, 1))  # ties happen

# Small pools, so that events share and differ in each field the fold takes "first" of.
metas = st.builds(
    call,
    call_id=st.just(CALL),
    correlation_id=st.sampled_from(["", "in@gw", "in2@gw"]),
    direction=st.sampled_from(["inbound", "outbound"]),
    scenario=st.sampled_from(["", "transfer_agent"]),
    tenant_id=st.sampled_from([0, 0, 7, 9]),
    remote_addr=st.sampled_from(["", "203.0.113.5:5060"]),
    local_ip=st.sampled_from(["", "10.0.0.2", "10.0.0.3"]),
    codec=st.sampled_from(["", "pcma", "PCMU"]),
    started_at=st.sampled_from([iso(T0), iso(T0 + timedelta(seconds=3)), ZERO]),
)
label_sets = st.one_of(
    st.none(), st.dictionaries(st.sampled_from(["from", "to", "did"]), st.sampled_from(["", "+331", "+332"]))
)


@st.composite
def raw_events(draw):
    kind = draw(st.sampled_from(["ringing", "established", "bye", "failed", "expired", "transfer", "bridge"]))
    at = draw(times)
    meta = draw(metas)
    labels = draw(label_sets)
    if labels is not None:
        meta = {**meta, "labels": labels}
    if kind in ("ringing", "established"):
        return event(kind, at, meta)
    if kind in ("bye", "failed"):
        raw = (bye if kind == "bye" else failed)(
            at,
            draw(st.one_of(times, st.just(10.0))),
            meta,
            initiator=draw(st.sampled_from(["local", "remote", "unknown"])),
            sip_code=draw(st.sampled_from([0, 200, 486])),
            duration_ms=draw(st.sampled_from([0, 1500])),
        )
        if draw(st.booleans()):
            raw["hangup"]["ended_at"] = None  # the end falls back to the observation
        return raw
    if kind == "expired":
        ended = T0 + timedelta(seconds=draw(times))
        observed = iso(T0 + timedelta(seconds=at))
        return {"type": "expired", "call_id": CALL, "ended_at": iso(ended), "observed_at": observed}
    if kind == "transfer":
        return event("transfer_started", at, meta, target_uri=draw(st.sampled_from(["sip:a@pbx", "sip:b@pbx"])))
    return {
        "type": "bridge_started",
        "observed_at": iso(T0 + timedelta(seconds=at)),
        "inbound_call_id": CALL,
        "outbound_call_id": draw(st.sampled_from(["l1@gw", "l2@gw", "sbc@x"])),
    }


def parsed(raw) -> Event:
    e = parse_event(raw, received_at=T0)
    assert isinstance(e, Event), e
    return e


@st.composite
def multisets(draw):
    """Distinct events, then copies of some of them observed earlier or later (each one a sighting)."""
    events = [parsed(r) for r in draw(st.lists(raw_events(), min_size=0, max_size=12))]
    copies = draw(st.lists(st.tuples(st.sampled_from(events), times), max_size=8)) if events else []
    for e, at in copies:
        raw = {**e.payload, "observed_at": iso(T0 + timedelta(seconds=at))}
        events.append(parsed(raw))  # a transfer attempt at another moment is another attempt
    events += draw(st.lists(st.sampled_from(events), max_size=4)) if events else []  # exact repeats
    return draw(st.permutations(events))


def chunks(draw, events):
    cuts = sorted(draw(st.lists(st.integers(0, len(events)), max_size=5)))
    bounds = [0, *cuts, len(events)]
    return [events[a:b] for a, b in pairwise(bounds)]


legs = st.lists(
    st.builds(
        Leg,
        call_id=st.sampled_from(["l1@gw", "l2@gw", "l3@gw"]),
        started_at=times.map(lambda s: T0 + timedelta(seconds=s)),
        status=st.sampled_from(["ringing", "established", "completed", "failed"]),
        established=st.booleans(),
    ),
    max_size=3,
    unique_by=lambda leg: leg.call_id,
)


@settings(max_examples=1500, deadline=None)
@given(events=multisets(), data=st.data(), inherited=st.sampled_from([0, 5]), agent_legs=legs)
def test_merging_the_states_of_any_split_gives_the_fold_of_the_whole_set(events, data, inherited, agent_legs):
    parts = chunks(data.draw, events)
    state = merge_all(CALL, (state_of(CALL, part) for part in data.draw(st.permutations(parts))))
    assert record_of(state, inherited) == derive_call(CALL, events, inherited)
    assert transfers_of(state, agent_legs) == derive_transfers(events, agent_legs)
    # The state is a function of the set of sightings, however it was split.
    assert state == state_of(CALL, events)


@settings(max_examples=500, deadline=None)
@given(a=multisets(), b=multisets(), c=multisets())
def test_merge_is_commutative_associative_and_idempotent(a, b, c):
    sa, sb, sc = (state_of(CALL, x) for x in (a, b, c))
    assert merge(sa, sb) == merge(sb, sa)
    assert merge(merge(sa, sb), sc) == merge(sa, merge(sb, sc))
    assert merge(sa, sa) == sa
    assert merge(sa, CallState(CALL)) == sa  # the empty state is the identity
    assert merge(sa, sb) == state_of(CALL, a + b)


def test_an_earlier_sighting_merged_later_moves_a_labelled_event_back():
    """The labels take a repeat at its first sighting: a copy seen earlier, merged last, counts there."""
    first = parsed(event("established", 10, {**call(), "labels": {"to": "+331"}}))
    other = parsed(event("ringing", 5, {**call(), "labels": {"to": "+332"}}))
    early = parsed({**first.payload, "observed_at": iso(T0 + timedelta(seconds=1))})
    state = merge(merge(state_of(CALL, [first]), state_of(CALL, [other])), state_of(CALL, [early]))
    assert record_of(state).labels == {"to": "+332"} == derive_call(CALL, [first, other, early]).labels


def test_events_of_other_calls_are_ignored_and_a_call_without_a_start_has_no_record():
    other = parsed(event("ringing", 1, call(call_id="c2@gw")))
    no_start = parsed(bye(5, 5, call(started_at=ZERO)))
    assert state_of(CALL, [other]) == CallState(CALL)
    assert record_of(state_of(CALL, [no_start])) is None


def test_the_counting_scope_is_the_gateway_only_for_events_that_name_no_tenant():
    named = parsed({**event("ringing", 1, call(tenant_id=7)), "gateway_id": 3})
    unnamed = parsed({**event("ringing", 1, call(tenant_id=0)), "gateway_id": 3})
    bridge = parsed({**event("bridge_started", 1, inbound_call_id=CALL, outbound_call_id="l1@gw"), "gateway_id": 4})
    assert [counting_scope(e) for e in (named, unnamed, bridge, parsed(event("ringing", 1)))] == [0, 3, 4, 0]


@settings(max_examples=300, deadline=None)
@given(events=multisets())
def test_a_stored_state_reads_back_equal_through_json(events):
    state = state_of(CALL, events)
    stored = orjson.loads(orjson.dumps(state_to_json(state)))  # as bulk_upsert writes it
    assert json.loads(json.dumps(state_to_json(state), default=datetime.isoformat)) == stored  # SQLite's way
    assert state_from_json(CALL, stored) == state
    assert state_from_json(CALL, {**stored, "v": STATE_VERSION + 1}) is None  # rebuilt from the log
