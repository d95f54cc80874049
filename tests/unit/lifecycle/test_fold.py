"""The call record is a function of the set of distinct events: order and repeats do not matter."""

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdr.lifecycle.events import Event, parse_event
from cdr.lifecycle.fold import derive_call
from tests.support.factories import T0, bye, call, event, failed


def parsed(raws):
    out = [parse_event(r, received_at=T0) for r in raws]
    assert all(isinstance(e, Event) for e in out), out
    return out


def record(raws, inherited=0):
    return derive_call("c1@gw", parsed(raws), inherited)


def test_answered_call():
    r = record([event("ringing", 0.5), event("established", 2.0), bye(30.0, 30.0)])
    assert (r.status, r.pdd_ms, r.billable_ms, r.duration_ms) == ("completed", 500, 28000, 30000)
    assert (r.hangup_initiator, r.sip_code, r.hangup_reason) == ("remote", 200, "Normal Clearing")
    assert r.hangup.kind == "bye" and r.ended_at == T0 + timedelta(seconds=30)


def test_the_earliest_end_by_ended_at_decides_even_when_it_arrives_last():
    crossing_local = bye(30.2, 30.0, initiator="local", sip_code=0, reason="session timer")
    remote = bye(30.1, 30.05, initiator="remote")
    r = record([event("established", 1), remote, crossing_local])
    assert (r.hangup_initiator, r.sip_code, r.hangup_reason) == ("local", None, "session timer")
    assert r.ended_at == T0 + timedelta(seconds=30)


def test_a_reinvite_never_reopens_an_ended_call():
    r = record([event("established", 1), bye(10, 10), event("established", 11), event("ringing", 12)])
    assert r.status == "completed" and r.established_at == T0 + timedelta(seconds=1)
    assert r.ringing_at == T0 + timedelta(seconds=12) and r.pdd_ms == 12000


def test_failed_and_never_ended_calls():
    assert record([event("ringing", 1), failed(5, 5)]).status == "failed"
    assert record([event("ringing", 1), failed(5, 5)]).billable_ms == 0
    ringing = record([event("ringing", 1)])
    assert (ringing.status, ringing.ended_at, ringing.duration_ms) == ("ringing", None, None)
    assert record([event("established", 1)]).status == "established"


def test_a_real_end_beats_the_sweepers_expiry_whatever_its_time():
    expiry = {"type": "expired", "call_id": "c1@gw", "ended_at": T0.isoformat(), "observed_at": T0.isoformat()}
    assert record([event("ringing", 1), expiry]).status == "expired"
    late_bye = record([event("ringing", 1), expiry, bye(9000, 9000)])
    assert late_bye.status == "completed" and late_bye.ended_at == T0 + timedelta(seconds=9000)


def test_tenant_zero_inherits_and_zero_durations_are_not_trusted():
    agent = call(tenant_id=0, direction="outbound", scenario="transfer_agent", correlation_id="in@gw")
    r = record([event("established", 1, agent), bye(5, 5, agent, duration_ms=0)], inherited=42)
    assert r.tenant_id == 42 and r.billable_ms == 4000 and r.hangup.reported_duration_ms is None


def test_an_ended_at_missing_falls_back_to_the_observation():
    b = bye(7, 7)
    b["hangup"]["ended_at"] = None
    assert record([event("established", 1), b]).ended_at == T0 + timedelta(seconds=7)


@pytest.mark.parametrize("zero", ["0001-01-01T00:00:00Z", "0001-01-01T01:00:00+01:00"])
def test_an_ended_at_of_gos_zero_time_is_not_known_too(zero):
    b = bye(7, 7)
    b["hangup"]["ended_at"] = zero
    assert record([event("established", 1), b]).ended_at == T0 + timedelta(seconds=7)


ZERO_START = call(started_at="0001-01-01T00:00:00Z")  # Go's zero time.Time: StartedAt not known


def test_a_zero_started_at_takes_the_calls_start_from_its_other_events_in_any_order():
    events = [event("ringing", 0.5), event("established", 2.0, ZERO_START), bye(30.0, 30.0, ZERO_START)]
    whole = record(events)
    assert (whole.started_at, whole.status, whole.duration_ms, whole.pdd_ms) == (T0, "completed", 30000, 500)
    assert record(events[::-1]) == whole
    # The earliest start given wins, as between two given starts.
    later = event("ringing", 0.5, call(started_at=(T0 + timedelta(seconds=1)).isoformat()))
    assert record([later, *events[1:]]).started_at == T0 + timedelta(seconds=1)


def test_a_call_whose_events_give_no_start_has_no_record_yet():
    assert derive_call("c1@gw", parsed([bye(30.0, 30.0, ZERO_START)])) is None


def test_a_late_ack_seen_after_the_bye_does_not_give_negative_billing():
    r = record([bye(5, 5), event("established", 6)])
    assert r.established_at == r.ended_at and r.billable_ms == 0


# --- property: any permutation and duplication of the same set gives the same record ----------

times = st.floats(min_value=0, max_value=3600, allow_nan=False).map(lambda x: round(x, 3))


# Labels of an event: a few keys and values, so several events give one key different values.
label_sets = st.one_of(
    st.none(),
    st.dictionaries(st.sampled_from(["from", "to", "did", "campaign"]), st.sampled_from(["", "+331", "+332", "x"])),
)


@st.composite
def event_sets(draw):
    base = call(
        codec=draw(st.sampled_from(["pcma", "pcmu", "g722"])), tenant_id=draw(st.sampled_from([0, 7, 2**63 + 1]))
    )

    def labelled():
        labels = draw(label_sets)
        return base if labels is None else {**base, "labels": labels}

    events = []
    for _ in range(draw(st.integers(0, 2))):
        events.append(event("ringing", draw(times), labelled()))
    for _ in range(draw(st.integers(0, 3))):  # re-INVITEs repeat the same established
        events.append(event("established", draw(times), labelled()))
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from([bye, failed]))
        events.append(
            kind(
                draw(times),
                draw(st.one_of(times, st.just(10.0))),  # ties on ended_at happen
                labelled(),
                initiator=draw(st.sampled_from(["local", "remote", "unknown"])),
                sip_code=draw(st.sampled_from([0, 200, 408, 486, 603])),
            )
        )
    if draw(st.booleans()):
        events.append(
            {"type": "expired", "call_id": "c1@gw", "ended_at": T0.isoformat(), "observed_at": T0.isoformat()}
        )
    if draw(st.booleans()):
        events.append(event("transfer_started", draw(times), labelled(), target_uri="sip:agent@pbx"))
    if not any(e.get("call") for e in events):
        events.append(event("ringing", draw(times), labelled()))
    return events


@settings(max_examples=300, deadline=None)
@given(events=event_sets(), data=st.data())
def test_record_depends_only_on_the_set_of_distinct_events(events, data):
    canonical = record(events, inherited=5)
    # A repeat is the same content observed again, later: the set keeps the earliest sighting.
    copies = data.draw(st.lists(st.tuples(st.sampled_from(events), times), max_size=6))
    # A transfer attempt's moment is part of its content (a later one is another attempt, with its
    # own labels): its redelivery keeps the moment.
    later = [
        {**e, "observed_at": (datetime.fromisoformat(e["observed_at"]) + timedelta(seconds=d)).isoformat()}
        if e["type"] != "transfer_started"
        else dict(e)
        for e, d in copies
    ]
    repeated = events + later
    shuffled = data.draw(st.permutations(repeated))
    assert record(shuffled, inherited=5) == canonical


def test_observations_are_kept_inside_the_calls_own_times_under_clock_skew():
    late_start = call(started_at=(T0 + timedelta(seconds=10)).isoformat())
    r = record([event("ringing", 8, late_start), event("established", 9, late_start), bye(20, 30, late_start)])
    assert r.ringing_at == r.established_at == T0 + timedelta(seconds=10)
    assert (r.pdd_ms, r.billable_ms, r.duration_ms) == (0, 20000, 20000)
