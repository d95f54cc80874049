"""Two batches writing overlapping calls: every lock a batch waits for is taken before it writes.

Each race is forced, not hoped for: one batch is held at the point that matters until the other
is seen waiting for a lock (``pg_locks``) or has finished; no assertion depends on timing.
"""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction

import cdr.services.calls as calls_mod
import cdr.services.events as events_mod
from cdr.db.locks import _key, calls_lock
from cdr.db.queries import DATABASE_UNREACHABLE
from cdr.lifecycle.events import parse_event
from cdr.models import Call, CallEvent, CallOwner, Hangup, Transfer
from cdr.services import events_ingest
from cdr.services.gateways import gateway_create
from tests.support.factories import T0, bye, call, event, iso

pytestmark = pytest.mark.django_db(transaction=True)
SECOND = timedelta(seconds=1)


def until_someone_waits(done: threading.Event | None = None) -> None:
    """Return once another session waits for a lock (or ``done`` is set: it never had to)."""
    with connection.cursor() as cursor:
        for _ in range(2000):
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0] or (done is not None and done.is_set()):
                return
            time.sleep(0.005)
    raise AssertionError("no session ever waited for a lock")


def run_in_threads(**jobs) -> dict[str, Exception]:
    """Run each job in a thread named after it; the exceptions they raised, by name."""
    errors: dict[str, Exception] = {}

    def run(name, job):
        try:
            job()
        except Exception as exc:  # surfaced to the test
            errors[name] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, name=name, args=(name, job)) for name, job in jobs.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def ids_in_key_order() -> tuple[str, str]:
    """An inbound call and its agent leg whose lock the leg's batch takes first."""
    for i in range(100):
        parent, leg = f"P{i}@gw", f"L{i}@gw"
        if _key(leg) < _key(parent):
            return parent, leg
    raise AssertionError


@pytest.mark.parametrize("parent_tenant", [0, 9], ids=["parent-without-tenant", "leg-before-parent"])
def test_a_batch_of_the_parent_and_one_of_its_tenant_0_leg_never_deadlock(monkeypatch, parent_tenant):
    """The parent's batch refreshes the leg too: it used to lock the leg only at the end."""
    parent_id, leg_id = ids_in_key_order()
    parent = call(parent_id, tenant_id=parent_tenant)
    leg = call(leg_id, tenant_id=0, direction="outbound", scenario="transfer_agent", correlation_id=parent_id)
    if parent_tenant:
        events_ingest(events=[event("established", 5, leg)])
        parent_batch = [event("ringing", 0, parent)]
    else:
        events_ingest(events=[event("ringing", 0, parent), event("established", 5, leg)])
        parent_batch = [bye(40, 40, parent)]
    assert Call.objects.get(call_id=leg_id).tenant_id == 0
    refreshing = threading.Event()
    real_mark = calls_mod.rollups_mark

    def mark_when_the_leg_batch_waits(**kw):
        if threading.current_thread().name == "parent":
            refreshing.set()
            until_someone_waits()
        return real_mark(**kw)

    monkeypatch.setattr(calls_mod, "rollups_mark", mark_when_the_leg_batch_waits)

    def leg_batch():
        refreshing.wait(30)
        events_ingest(events=[bye(41, 41, leg)])

    errors = run_in_threads(parent=lambda: events_ingest(events=parent_batch), leg=leg_batch)
    assert errors == {}
    assert Call.objects.get(call_id=leg_id).status == "completed"


def test_an_expiry_of_a_tenant_0_leg_is_not_overwritten_by_its_parents_batch(monkeypatch):
    """The parent's batch read the leg's events before the sweeper's expiry and wrote it after."""
    parent = call("P@gw", tenant_id=0)
    leg = call("X@gw", tenant_id=0, direction="outbound", scenario="callback", correlation_id="P@gw")
    events_ingest(events=[event("ringing", 0, parent), event("established", 5, leg)])
    read, swept = threading.Event(), threading.Event()
    real_read = calls_mod._events_by_call

    def read_then_let_the_sweeper_try(*args, **kw):
        out = real_read(*args, **kw)
        if threading.current_thread().name == "parent" and not read.is_set():
            read.set()
            until_someone_waits(done=swept)
        return out

    monkeypatch.setattr(calls_mod, "_events_by_call", read_then_let_the_sweeper_try)
    expired = {"type": "expired", "call_id": "X@gw", "ended_at": T0.isoformat(), "observed_at": T0.isoformat()}

    def sweeper():
        read.wait(30)
        try:
            events_ingest(events=[expired], source="sweeper")
        finally:
            swept.set()

    errors = run_in_threads(parent=lambda: events_ingest(events=[bye(40, 40, parent)]), sweeper=sweeper)
    assert errors == {}
    assert Call.objects.get(call_id="X@gw").status == "expired"
    assert Hangup.objects.get(call__call_id="X@gw").kind == "expired"


def rejected_pair() -> tuple[dict, dict]:
    """Two malformed events (no direction), the first with the smaller fingerprint."""
    evs = [{"type": "ringing", "observed_at": "2026-03-29T00:30:00Z", "call": {"call_id": f"r{i}"}} for i in range(2)]
    evs.sort(key=lambda e: parse_event(e, received_at=T0).fingerprint)
    return evs[0], evs[1]


def test_batches_holding_the_same_rejected_events_in_opposite_orders_never_deadlock():
    """Rejected events take no call lock: only the order of their log rows orders two batches.

    The first batch's transaction writes them in fingerprint order, in two steps so that the
    other batch is seen waiting in between.
    """
    low, high = rejected_pair()
    holds_low = threading.Event()

    def in_order():
        with transaction.atomic():
            events_ingest(events=[low])
            holds_low.set()
            until_someone_waits()
            events_ingest(events=[low, high])

    def reversed_order():
        holds_low.wait(30)
        events_ingest(events=[high, low])

    errors = run_in_threads(first=in_order, second=reversed_order)
    assert errors == {}
    assert CallEvent.objects.filter(status="rejected").count() == 2


def test_a_leg_stored_after_the_batch_looked_its_legs_up_is_only_tried(monkeypatch):
    """Its lock is held elsewhere: the batch fails with a retryable error instead of waiting."""
    parent = call("P@gw", tenant_id=0)
    leg = call("L@gw", tenant_id=0, direction="outbound", scenario="transfer_agent", correlation_id="P@gw")
    events_ingest(events=[event("ringing", 0, parent), event("established", 5, leg)])
    # As if the leg was committed between the look-up and the locks.
    monkeypatch.setattr(events_mod, "_neighbours", lambda call_ids: (set(), set()))
    holding, release = threading.Event(), threading.Event()

    def hold_the_leg():
        with transaction.atomic():
            calls_lock(["L@gw"])
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=lambda: (hold_the_leg(), connection.close()))
    holder.start()
    try:
        holding.wait(30)
        with pytest.raises(DATABASE_UNREACHABLE, match="L@gw"):
            events_ingest(events=[bye(40, 40, parent)])
    finally:
        release.set()
        holder.join(30)
    assert Call.objects.get(call_id="P@gw").status == "ringing"  # nothing of the batch was kept
    events_ingest(events=[bye(40, 40, parent)])  # the retry
    assert Call.objects.get(call_id="P@gw").status == "completed"


def hold_until_the_other_waits(monkeypatch, name: str) -> threading.Event:
    """Hold the batch of thread ``name`` before its commit until another session waits for a lock."""
    holding = threading.Event()
    real_mark = calls_mod.rollups_mark

    def mark_when_the_other_waits(**kw):
        if threading.current_thread().name == name and not holding.is_set():
            holding.set()
            until_someone_waits()
        return real_mark(**kw)

    monkeypatch.setattr(calls_mod, "rollups_mark", mark_when_the_other_waits)
    return holding


def race(monkeypatch, first: str, batches: dict[str, list[dict]]) -> dict[str, object]:
    """Store ``batches[first]`` and, while it holds its locks, the other batch: their results by name."""
    holding = hold_until_the_other_waits(monkeypatch, first)
    results: dict[str, object] = {}

    def job(name):
        def run():
            if name != first:
                holding.wait(30)
            results[name] = events_ingest(events=batches[name], source="http")

        return run

    errors = run_in_threads(**{name: job(name) for name in batches})
    assert errors == {}
    return results


RACED = "race@gw"


def from_gateway(gateway, *events) -> list[dict]:
    return [dict(e, gateway_id=gateway.pk) for e in events]


@pytest.mark.parametrize("first", ["a", "b"], ids=["a-commits-first", "b-commits-first"])
def test_two_gateways_posting_one_new_call_id_at_once_the_first_committed_owns_it(monkeypatch, first):
    """Issue 16, item 1: the store took the earliest tenant by observed_at (the client's clock), so
    the record became tenant 9 with tenant 7's data. Now the first committed binding decides."""
    gateways = {
        "a": gateway_create(name="edge-a", tenant_ids=[7]).gateway,
        "b": gateway_create(name="edge-b", tenant_ids=[9]).gateway,
    }
    a_meta = call(RACED, tenant_id=7, remote_addr="198.51.100.7:5060")
    b_meta = call(RACED, tenant_id=9, remote_addr="203.0.113.9:5060")
    batches = {  # b's clock is earlier, whoever commits first
        "a": from_gateway(gateways["a"], event("ringing", 1, a_meta), bye(5, 5, a_meta, reason="A hangs up")),
        "b": from_gateway(gateways["b"], event("ringing", 0, b_meta), bye(4, 4, b_meta, reason="B hangs up")),
    }
    results = race(monkeypatch, first, batches)
    second = "b" if first == "a" else "a"
    tenant, loser_tenant = (7, 9) if first == "a" else (9, 7)
    raced = Call.objects.get(call_id=RACED)
    winner = batches[first][1]
    assert (raced.tenant_id, raced.remote_addr, raced.hangup_reason) == (
        tenant,
        winner["call"]["remote_addr"],
        winner["hangup"]["reason"],
    )
    assert CallOwner.objects.get(call_id=RACED).gateway_id == gateways[first].pk
    assert results[first].accepted == 2
    assert (results[second].accepted, results[second].rejected) == (0, 2)
    refused = CallEvent.objects.filter(call_id=RACED, status="rejected")
    assert {e.payload["gateway_id"] for e in refused} == {gateways[second].pk}
    assert {e.reason for e in refused} == {
        f"call.tenant_id: call '{RACED}' belongs to tenant {tenant} (bound first), not {loser_tenant}"
    }
    # A later event of the loser changes nothing either; the owner's own events still count.
    late = call(RACED, tenant_id=loser_tenant, remote_addr="192.0.2.1:5060")
    events_ingest(events=from_gateway(gateways[second], event("established", 2, late)), source="http")
    assert Call.objects.get(call_id=RACED).established_at is None
    events_ingest(
        events=from_gateway(gateways[first], event("established", 2, batches[first][0]["call"])), source="http"
    )
    assert Call.objects.get(call_id=RACED).established_at is not None


@pytest.mark.parametrize("first", ["leg", "parent"], ids=["leg-commits-first", "parent-commits-first"])
def test_a_leg_of_another_tenant_is_never_linked_as_a_transfers_agent_leg(monkeypatch, first):
    """Issue 16, item 2: edge-a posted an agent leg (tenant 7) naming a call edge-b had not posted
    yet; edge-b's transfer then listed it as its answered agent leg. Transfers skipped tenant-0 legs
    refusing their parent's tenant, not legs of another tenant."""
    a = gateway_create(name="edge-a", tenant_ids=[7]).gateway
    b = gateway_create(name="edge-b", tenant_ids=[9]).gateway
    parent = call("P@gw", tenant_id=9)
    leg = call("L@gw", tenant_id=7, direction="outbound", scenario="transfer_agent", correlation_id="P@gw")
    batches = {
        "leg": from_gateway(a, event("ringing", 5.5, leg), event("established", 6, leg)),
        "parent": from_gateway(
            b,
            event("ringing", 0, parent),
            event("established", 1, parent),
            event("transfer_started", 5, parent, target_uri="sip:agent@pbx"),
        ),
    }
    race(monkeypatch, first, batches)
    assert dict(Call.objects.values_list("call_id", "tenant_id")) == {"P@gw": 9, "L@gw": 7}
    transfer = Transfer.objects.get(inbound__call_id="P@gw")
    assert (transfer.outbound_id, transfer.outbound_call_id, transfer.outcome) == (None, "", "pending")
    assert not Transfer.objects.filter(outbound__call_id="L@gw").exists()


@pytest.mark.parametrize("first", ["a", "b"], ids=["copy-commits-first", "real-commits-first"])
def test_another_gateways_identical_event_neither_pre_empts_nor_absorbs_the_real_one(monkeypatch, first):
    """Issue 16, item 3: edge-a posted a bridge_started with exactly the content of edge-b's coming
    bridge; the log kept one row per content, edge-a's, which does not count for tenant 9, so
    edge-b's transfer stayed "answered". Each deliverer's copy is now its own row."""
    a = gateway_create(name="edge-a", tenant_ids=[7]).gateway
    b = gateway_create(name="edge-b", tenant_ids=[9]).gateway
    parent = call("P@gw", tenant_id=9)
    leg = call("L@gw", tenant_id=0, direction="outbound", scenario="transfer_agent", correlation_id="P@gw")
    setup = [
        event("ringing", 0, parent),
        event("established", 1, parent),
        event("transfer_started", 5, parent, target_uri="sip:agent@pbx"),
        event("established", 6, leg),
    ]
    events_ingest(events=from_gateway(b, *setup), source="http")
    assert Transfer.objects.get().outcome == "answered"
    bridge = event("bridge_started", 7, None, inbound_call_id="P@gw", outbound_call_id="L@gw")
    copy = dict(bridge, observed_at=iso(T0))  # the same content, observed earlier
    results = race(monkeypatch, first, {"a": from_gateway(a, copy), "b": from_gateway(b, bridge)})
    assert (results["a"].accepted, results["b"].accepted) == (1, 1)
    transfer = Transfer.objects.get()
    assert (transfer.outcome, transfer.outbound.call_id, transfer.bridged_at) == ("bridged", "L@gw", T0 + 7 * SECOND)
    assert set(CallEvent.objects.filter(type="bridge_started").values_list("scope", flat=True)) == {a.pk, b.pk}
