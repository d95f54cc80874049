"""events_ingest on real PostgreSQL: idempotent, order-free, nothing half-written."""

import random
import uuid
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdr.models import Call, CallEvent, CallFold, CallOwner, Hangup, Tenant, Transfer
from cdr.services import events_ingest
from tests.support.factories import T0, bye, call, event, failed

pytestmark = pytest.mark.django_db


def snapshot(call_ids):
    calls = {
        c["call_id"]: {k: v for k, v in c.items() if k not in ("id", "updated_at")}
        for c in Call.objects.filter(call_id__in=call_ids).values()
    }
    hangups = {
        h["call__call_id"]: h
        for h in Hangup.objects.filter(call__call_id__in=call_ids).values(
            "call__call_id", "kind", "initiator", "sip_code", "reason", "ended_at"
        )
    }
    transfers = list(
        Transfer.objects.filter(inbound__call_id__in=call_ids)
        .values(
            "inbound__call_id",
            "attempt",
            "target_uri",
            "outbound_call_id",
            "outbound__call_id",
            "outcome",
            "bridged_at",
        )
        .order_by("inbound__call_id", "attempt")
    )
    return calls, hangups, transfers


def test_outcomes_per_event_and_a_replay_changes_nothing():
    batch = [
        event("ringing", 0.2),
        event("established", 1),
        bye(9, 9),
        event("ringing", 0.2),
        event("ringing", meta=call(direction="sideways")),
    ]
    first = events_ingest(events=batch)
    assert [o for o, _ in first.outcomes] == ["accepted", "accepted", "accepted", "duplicate", "rejected"]
    assert "call.direction" in first.outcomes[4][1]
    before = snapshot(["c1@gw"])
    again = events_ingest(events=batch)
    assert [o for o, _ in again.outcomes] == ["duplicate"] * 4 + ["rejected"]
    assert snapshot(["c1@gw"]) == before
    assert CallEvent.objects.count() == 4  # three accepted + one rejected, each once
    rejected = CallEvent.objects.get(status="rejected")
    assert rejected.call_id == "c1@gw" and "sideways" in rejected.reason
    c = Call.objects.get()
    assert (c.status, c.tenant_id, c.pdd_ms, c.billable_ms, c.sip_code) == ("completed", 7, 200, 8000, 200)


def test_a_repeat_seen_earlier_moves_the_observation_back():
    events_ingest(events=[event("ringing", 3.0)])
    events_ingest(events=[event("ringing", 1.0)])
    assert CallEvent.objects.get().observed_at == T0 + timedelta(seconds=1)
    assert Call.objects.get().pdd_ms == 1000


def test_new_tenants_are_created_including_unsigned_64_bit_ids():
    big = 2**64 - 2
    events_ingest(events=[event("ringing", meta=call(call_id="big", tenant_id=big))])
    assert Tenant.objects.get(id=big).id == big
    assert Call.objects.get(call_id="big").tenant_id == big
    assert Call.objects.filter(tenant_id=big).count() == 1
    # Its binding reads back as the same tenant, from the binding or (none yet) from the call row.
    assert events_ingest(events=[event("established", 1, call(call_id="big", tenant_id=big))]).accepted == 1
    CallOwner.objects.all().delete()
    assert events_ingest(events=[bye(2, 2, call(call_id="big", tenant_id=big))]).accepted == 1
    assert Call.objects.get(call_id="big").status == "completed"


def transfer_events(inbound="in@gw", agents=("ag1@gw", "ag2@gw")):
    inbound_meta = call(call_id=inbound, tenant_id=9)
    evs = [event("ringing", 0.1, inbound_meta), event("established", 1, inbound_meta)]
    for i, agent_id in enumerate(agents):
        agent = call(
            call_id=agent_id,
            tenant_id=0,
            direction="outbound",
            scenario="transfer_agent",
            correlation_id=inbound,
            started_at=(T0 + timedelta(seconds=10 + 20 * i)).isoformat(),
        )
        evs.append(event("transfer_started", 10 + 20 * i, inbound_meta, target_uri=f"sip:agent-{i}@pbx"))
        if i < len(agents) - 1:
            evs.append(failed(25 + 20 * i, 25 + 20 * i, agent, sip_code=480, reason="Temporarily Unavailable"))
        else:
            evs.append(event("established", 15 + 20 * i, agent))
            evs.append(
                {
                    "type": "bridge_started",
                    "observed_at": (T0 + timedelta(seconds=16 + 20 * i)).isoformat(),
                    "inbound_call_id": inbound,
                    "outbound_call_id": agent_id,
                }
            )
            evs.append(bye(100, 100, agent))
    evs.append(bye(100.5, 100.5, inbound_meta, initiator="local"))
    return evs


def test_transfers_link_attempts_agent_legs_and_the_bridge():
    events_ingest(events=transfer_events())
    inbound = Call.objects.get(call_id="in@gw")
    rows = list(inbound.transfers.values_list("attempt", "target_uri", "outbound_call_id", "outcome"))
    assert rows == [(1, "sip:agent-0@pbx", "ag1@gw", "failed"), (2, "sip:agent-1@pbx", "ag2@gw", "bridged")]
    assert Transfer.objects.get(attempt=2).outbound.call_id == "ag2@gw"
    assert set(Call.objects.filter(correlation_id="in@gw").values_list("tenant_id", flat=True)) == {9}
    assert list(Call.objects.filter(transferred=True).values_list("call_id", flat=True)) == ["in@gw"]


def test_agent_legs_reported_before_their_inbound_leg_converge():
    evs = transfer_events()
    agent_first = [e for e in evs if e.get("call", {}).get("call_id", "") != "in@gw" and e["type"] != "bridge_started"]
    events_ingest(events=agent_first)
    assert set(Call.objects.values_list("tenant_id", flat=True)) == {0}
    events_ingest(events=[e for e in evs if e not in agent_first])
    expected = snapshot(["in@gw", "ag1@gw", "ag2@gw"])
    assert set(Call.objects.values_list("tenant_id", flat=True)) == {9}
    assert [t["outcome"] for t in expected[2]] == ["failed", "bridged"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), batches=st.integers(1, 6))
def test_any_batching_and_order_gives_the_same_rows_as_one_batch(seed, batches):
    rng = random.Random(seed)
    tag = uuid.uuid4().hex[:8]
    ids = [f"in-{tag}@gw", f"a1-{tag}@gw", f"a2-{tag}@gw"]
    evs = transfer_events(*ids[:1], agents=ids[1:])
    evs += [bye(100.2, 100.2, call(call_id=ids[0], tenant_id=9), initiator="remote")]  # crossing bye
    events_ingest(events=evs)
    reference = snapshot(ids)
    Call.objects.filter(call_id__in=ids).delete()
    CallEvent.objects.filter(call_id__in=ids).delete()
    CallFold.objects.filter(call_id__in=ids).delete()  # the calls start again from nothing
    shuffled = evs + [rng.choice(evs) for _ in range(4)]
    rng.shuffle(shuffled)
    cuts = sorted(rng.sample(range(1, len(shuffled)), batches - 1))
    for lo, hi in zip([0, *cuts], [*cuts, len(shuffled)], strict=True):
        events_ingest(events=shuffled[lo:hi])
    assert snapshot(ids) == reference


def test_rejections_are_logged(caplog):
    with caplog.at_level("WARNING", logger="cdr.ingest"):
        events_ingest(events=[event("ringing", meta=call(call_id="bad", started_at="2026-01-01T00:00:00"))])
    assert "rejected 1 of 1 lifecycle events, e.g. bad: call.started_at: naive timestamp" in caplog.text


# Values PostgreSQL's text and jsonb refuse (NUL, unpaired surrogates; NaN and infinities in json),
# anywhere in an event: one of them must never fail the batch it arrives in.
_HOSTILE_TEXT = st.text(
    alphabet=st.sampled_from(["a", "\x00", "\ud800", "\udfff", "\U0001f600", "é", "\\", '"']), max_size=6
)
_HOSTILE = st.recursive(
    st.one_of(_HOSTILE_TEXT, st.floats(), st.integers(), st.none()),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_HOSTILE_TEXT, inner, max_size=3)),
    max_leaves=8,
)
_FIELDS = [
    "type",
    "observed_at",
    "event_id",
    "recording",
    "target_uri",
    "call.call_id",
    "call.scenario",
    "call.codec",
    "call.remote_addr",
    "hangup.reason",
    "hangup.initiator",
    "extra",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(_FIELDS), value=_HOSTILE, kind=st.sampled_from(["bye", "transfer_started"]))
def test_a_value_postgresql_cannot_store_is_rejected_and_never_fails_the_batch(field, value, kind):
    tag = uuid.uuid4().hex[:8]
    good = event("ringing", 0, call(call_id=f"good-{tag}@gw", tenant_id=7))
    bad = (
        bye(5, 5, call(call_id=f"bad-{tag}@gw", tenant_id=7))
        if kind == "bye"
        else event("transfer_started", 5, call(call_id=f"bad-{tag}@gw", tenant_id=7), target_uri="sip:x@y")
    )
    target = bad
    *parents, leaf = field.split(".")
    for name in parents:
        target = target.setdefault(name, {})
    target[leaf] = value
    result = events_ingest(events=[good, bad])  # must not raise (a DataError here is a poison batch)
    assert result.outcomes[0] == ("accepted", "")
    assert Call.objects.filter(call_id=f"good-{tag}@gw").exists()
    assert CallEvent.objects.filter(call_id__in=[f"good-{tag}@gw", f"bad-{tag}@gw"]).count() >= 1


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("call.call_id", "a\x00b", "call.call_id: contains NUL or an unpaired surrogate"),
        ("call.scenario", "\ud800", "call.scenario: contains NUL or an unpaired surrogate"),
        ("hangup.reason", "x\udc00", "hangup.reason: contains NUL or an unpaired surrogate"),
        ("recording", {"peaks": [1.0, float("nan")]}, "recording.peaks[1]: nan is not a JSON number"),
        ("recording", {"k\x00": 1}, "recording: a key contains NUL"),
    ],
)
def test_unstorable_values_are_rejected_with_a_reason_and_the_rest_is_stored(field, value, reason):
    tag = uuid.uuid4().hex[:8]
    bad = bye(5, 5, call(call_id=f"bad-{tag}@gw", tenant_id=7))
    target = bad
    *parents, leaf = field.split(".")
    for name in parents:
        target = target[name]
    target[leaf] = value
    result = events_ingest(events=[event("ringing", 0, call(call_id=f"ok-{tag}@gw", tenant_id=7)), bad])
    assert result.outcomes[0] == ("accepted", "")
    assert result.outcomes[1][0] == "rejected" and result.outcomes[1][1].startswith(reason), result.outcomes
    stored = CallEvent.objects.get(status="rejected", reason__startswith=reason.split(":")[0])
    assert "\x00" not in str(stored.payload)
