"""A gateway cannot write into another tenant's calls by reporting first: legs and events it
delivered before the call they attach to was stored count only for tenants it may report."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cdr.models import Call, CallEvent, Gateway, Transfer
from cdr.services import events_ingest
from cdr.services.gateway_events import gateway_events_accept
from cdr.services.gateways import gateway_create
from tests.support.factories import bye, call, event

pytestmark = pytest.mark.django_db

INBOUND = call("in-x@gw", tenant_id=9)
LEG = call("leg@gw", tenant_id=0, direction="outbound", scenario="transfer_agent", correlation_id="in-x@gw")


def leg_events(meta: dict[str, Any] = LEG) -> list[dict[str, Any]]:
    return [event("ringing", 5.5, meta), event("established", 6, meta), bye(30, 30, meta)]


def inbound_events() -> list[dict[str, Any]]:
    return [
        event("ringing", 0.1, INBOUND),
        event("established", 1, INBOUND),
        event("transfer_started", 5, INBOUND, target_uri="sip:agent@pbx"),
    ]


def accept(gateway: Gateway, events: list[dict[str, Any]]) -> list[str]:
    return [o.status for o in gateway_events_accept(gateway=gateway, events=events).outcomes]


@pytest.fixture
def edge_a(db) -> Gateway:
    return gateway_create(name="edge-a", tenant_ids=[7]).gateway


@pytest.fixture
def edge_b(db) -> Gateway:
    return gateway_create(name="edge-b", tenant_ids=[9]).gateway


@pytest.fixture
def held(monkeypatch):
    """Broker mode and no worker: the edge queues each request's events (GatewayBatch), and the
    test hands the queued batches to the ``cdr.events_ingest`` task in the order it wants."""
    from cdr.dispatch import drain_nudges_wait
    from cdr.lifecycle.handoff import wire_events_load
    from cdr.models import GatewayBatch
    from cdr.tasks import events_ingest as task
    from project.celery import app

    monkeypatch.setattr(app.conf, "task_always_eager", False)
    monkeypatch.setattr(app.conf, "broker_url", "memory://held/")

    def published() -> list[tuple[list[Any], dict[str, Any]]]:
        rows = list(GatewayBatch.objects.order_by("id").values_list("id", "events"))
        GatewayBatch.objects.filter(pk__in=[pk for pk, _ in rows]).delete()
        # The task takes JSON: the edge's validated events go as the wire events they parse back to.
        wire = [wire_events_load(doc) for _, doc in rows]
        return [([events], {"source": "http"}) for events in wire]

    def run(batch: tuple[list[Any], dict[str, Any]]) -> None:
        task.apply(args=batch[0], kwargs=batch[1], throw=True)

    yield published, run
    published()  # nothing left for another test
    drain_nudges_wait()
    with app.connection_for_read() as conn:  # nor the drain nudges
        conn.SimpleQueue("cdr").clear()


def test_a_leg_reported_before_its_parent_by_a_gateway_of_another_tenant_stays_tenant_0(edge_a, edge_b, caplog):
    assert accept(edge_a, leg_events()) == ["accepted"] * 3  # the parent is unknown: the edge cannot refuse
    bridge = event("bridge_started", 6.1, None, inbound_call_id="in-x@gw", outbound_call_id="leg@gw")
    with caplog.at_level("WARNING", logger="cdr.ingest"):
        assert accept(edge_b, [*inbound_events(), bridge]) == ["accepted"] * 4
    assert Call.objects.get(call_id="in-x@gw").tenant_id == 9
    assert Call.objects.get(call_id="leg@gw").tenant_id == 0
    assert "gateway 'edge-a' may not report tenant 9: leg leg@gw keeps tenant 0" in caplog.text
    # Nor is it linked to tenant 9's transfer as the agent leg that answered it.
    transfer = Transfer.objects.get()
    assert (transfer.outbound_call_id, transfer.outbound_id) == ("leg@gw", None)


def test_a_leg_published_before_its_parent_but_stored_after_it_stays_tenant_0(edge_a, edge_b, held, caplog):
    published, run = held
    assert accept(edge_a, leg_events()) == ["accepted"] * 3
    assert accept(edge_b, inbound_events()) == ["accepted"] * 3
    leg_batch, inbound_batch = published()
    run(inbound_batch)  # the worker takes them in the other order (two workers, a redelivery)
    with caplog.at_level("WARNING", logger="cdr.ingest"):
        run(leg_batch)
    assert dict(Call.objects.values_list("call_id", "tenant_id")) == {"in-x@gw": 9, "leg@gw": 0}
    assert "gateway 'edge-a' may not report tenant 9: leg leg@gw keeps tenant 0" in caplog.text
    assert Transfer.objects.get().outbound_id is None


@pytest.mark.parametrize("leg_first", [True, False], ids=["leg-first", "parent-first"])
def test_a_gateway_that_may_report_the_tenant_still_gives_its_legs_the_parents_tenant(edge_b, held, leg_first):
    published, run = held
    both = gateway_create(name="edge-79", tenant_ids=[7, 9]).gateway
    accept(both, leg_events())
    accept(edge_b, inbound_events())
    batches = published()
    for batch in batches if leg_first else reversed(batches):
        run(batch)
    assert dict(Call.objects.values_list("call_id", "tenant_id")) == {"in-x@gw": 9, "leg@gw": 9}
    assert Transfer.objects.get().outbound.call_id == "leg@gw"
    # Each event's provenance is in the log, whoever it was published for.
    assert {e.payload["gateway_id"] for e in CallEvent.objects.filter(call_id="leg@gw")} == {both.pk}
    assert {e.payload["gateway_id"] for e in CallEvent.objects.filter(call_id="in-x@gw")} == {edge_b.pk}


def test_a_client_cannot_claim_another_gateway_or_none_and_the_in_process_sink_is_trusted(edge_a, edge_b):
    claims = [edge_b.pk, None, "edge-b"]
    forged = [dict(e, gateway_id=claim) for e, claim in zip(leg_events(), claims, strict=True)]
    assert accept(edge_a, forged) == ["accepted"] * 3  # ignored, not a reason to refuse the event
    accept(edge_b, inbound_events())
    assert {e.payload["gateway_id"] for e in CallEvent.objects.filter(call_id="leg@gw")} == {edge_a.pk}
    assert Call.objects.get(call_id="leg@gw").tenant_id == 0

    sink_leg = {**LEG, "call_id": "sink-leg@gw", "correlation_id": "sink-in@gw"}
    events_ingest(events=[*leg_events(sink_leg), event("ringing", 0, call("sink-in@gw", tenant_id=9))])
    assert Call.objects.get(call_id="sink-leg@gw").tenant_id == 9
    assert not CallEvent.objects.filter(call_id__startswith="sink-", payload__has_key="gateway_id").exists()


def test_end_transfer_and_bridge_events_sent_first_do_not_change_another_tenants_call(edge_a, edge_b, caplog):
    unresolved = call("in-x@gw", tenant_id=0)
    early = [
        bye(2, 2, unresolved),
        event("transfer_started", 1.5, unresolved, target_uri="sip:evil@pbx"),
        event("bridge_started", 1.6, None, inbound_call_id="in-x@gw", outbound_call_id="mine@gw"),
    ]
    assert accept(edge_a, early) == ["accepted"] * 3
    with caplog.at_level("WARNING", logger="cdr.ingest"):
        accept(edge_b, [event("ringing", 0.1, INBOUND), event("established", 1, INBOUND)])
    x = Call.objects.get(call_id="in-x@gw")
    assert (x.tenant_id, x.status, x.ended_at, x.transferred) == (9, "established", None, False)
    assert not Transfer.objects.exists()
    assert CallEvent.objects.filter(call_id="in-x@gw", status="accepted").count() == 5  # all kept in the log
    assert (
        "gateway 'edge-a' may not report tenant 9: its tenant-0 events of call in-x@gw "
        "(bridge_started, bye, transfer_started) stay in the log, not counted"
    ) in caplog.text
    # The call's own gateway still ends it.
    accept(edge_b, [bye(40, 40, INBOUND)])
    assert Call.objects.get(call_id="in-x@gw").status == "completed"


def test_the_worker_reads_the_gateways_once_per_batch(edge_a, edge_b):
    parents = [event("ringing", 0, call(f"p{i}@gw", tenant_id=9)) for i in range(50)]
    accept(edge_b, parents)
    legs = [event("ringing", 1, {**LEG, "call_id": f"l{i}@gw", "correlation_id": f"p{i}@gw"}) for i in range(50)]
    # The parents are stored: the edge itself refuses these (403); what it let through earlier is
    # what the worker checks, so publish as the edge would have.
    legs = [dict(e, gateway_id=edge_a.pk) for e in legs]
    with CaptureQueriesContext(connection) as queries:
        events_ingest(events=legs, source="http")
    reads = [q["sql"] for q in queries.captured_queries if 'FROM "cdr_gateway"' in q["sql"]]
    assert len(reads) == 1
    assert set(Call.objects.filter(call_id__startswith="l").values_list("tenant_id", flat=True)) == {0}
    with CaptureQueriesContext(connection) as queries:
        events_ingest(events=[event("ringing", 1, {**LEG, "call_id": f"s{i}@gw"}) for i in range(50)])
    assert not [q for q in queries.captured_queries if 'FROM "cdr_gateway"' in q["sql"]]


@pytest.mark.parametrize("together", [True, False], ids=["one-drain", "stored-in-reverse"])
def test_both_gateways_accepted_for_one_new_call_id_the_store_settles_it_when_drained(edge_a, edge_b, held, together):
    """Issue 16, item 1 with a broker: the edge saw no stored call for either post, so both were
    accepted; queued events were never checked again and the earlier clock took the call."""
    published, run = held
    a_meta = call("new@gw", tenant_id=7, remote_addr="198.51.100.7:5060")
    b_meta = call("new@gw", tenant_id=9, remote_addr="203.0.113.9:5060")
    assert accept(edge_a, [event("ringing", 1, a_meta), bye(5, 5, a_meta)]) == ["accepted"] * 2
    assert accept(edge_b, [event("ringing", 0, b_meta), bye(4, 4, b_meta)]) == ["accepted"] * 2
    if together:  # one drain stores both requests in queue order: edge-a's was queued first
        from cdr.services.gateway_batches import gateway_batches_drain

        assert gateway_batches_drain() == 4
        winner, loser = a_meta, edge_b
    else:  # two workers: edge-b's batch is stored (committed) first
        a_batch, b_batch = published()
        run(b_batch)
        run(a_batch)
        winner, loser = b_meta, edge_a
    stored = Call.objects.get(call_id="new@gw")
    assert (stored.tenant_id, stored.remote_addr) == (winner["tenant_id"], winner["remote_addr"])
    refused = CallEvent.objects.filter(call_id="new@gw", status="rejected")
    assert refused.count() == 2
    assert {e.payload["gateway_id"] for e in refused} == {loser.pk}
    assert all("belongs to tenant" in e.reason for e in refused)
