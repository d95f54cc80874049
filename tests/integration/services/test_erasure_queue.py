"""Erasure reaches the HTTP queue: events the edge accepted and no drain stored yet are masked at
rest, their calls are stored and erased at once, and a drain after the erasure brings nothing back."""

from __future__ import annotations

import pytest
from django.utils import timezone

from cdr.models import Call, CallEvent, GatewayBatch, GatewayEvent
from cdr.services.erasure import calls_erase, erasure_selector
from cdr.services.gateway_batches import gateway_batches_drain
from cdr.services.gateways import gateway_create
from cdr.services.recordings import legal_hold_place
from tests.support.factories import bye, call, event
from tests.support.http import GatewayClient, with_ids

pytestmark = pytest.mark.django_db

ADDR = "198.51.100.23"


@pytest.fixture
def gw(monkeypatch):
    """Broker mode: accepted events wait in GatewayBatch (no commit here runs a nudge)."""
    from project.celery import app

    monkeypatch.setattr(app.conf, "task_always_eager", False)
    return GatewayClient(gateway_create(name="edge-1", tenant_ids=[7, 9]))


def _post(gw, call_id, tenant_id=7, remote=f"{ADDR}:5060", prefix="", **over):
    leg = call(call_id, tenant_id=tenant_id, remote_addr=remote, **over)
    body = gw.events(with_ids([event("ringing", 0, leg), bye(5, 5, leg)], prefix=prefix or f"{call_id}-")).json()
    assert body["accepted"] == 2


def _queue_text():
    return " ".join(GatewayBatch.objects.values_list("events", flat=True))


def _stored_text(call_id):
    return str(list(CallEvent.objects.filter(call_id=call_id).values_list("payload", flat=True)))


def test_a_call_known_only_to_the_queue_is_masked_there_stored_and_erased(gw):
    _post(gw, "p1@gw", labels={"from": "+33612345678"})
    _post(gw, "t9@gw", tenant_id=9)  # the same address in another tenant: untouched
    assert GatewayBatch.objects.count() == 2 and not Call.objects.exists()
    fingerprints = set(GatewayEvent.objects.values_list("fingerprint", flat=True))

    plan = calls_erase(tenant_id=7, selector=erasure_selector(remote_addr=ADDR))
    assert (plan.queued, plan.events) == (2, 2)
    assert _queue_text().count(ADDR) == 4 and not Call.objects.exists()  # a dry run changes nothing

    done = calls_erase(tenant_id=7, selector=erasure_selector(remote_addr=ADDR), apply=True)
    assert (done.queued, done.events, done.call_ids) == (2, 2, ["p1@gw"])
    # Stored at once, masked, and marked: a later event of the call is masked when it is stored.
    row = Call.objects.get(call_id="p1@gw")
    assert (row.remote_addr, row.labels, row.erased_at is not None) == ("", {"from": "erased"}, True)
    assert ADDR not in _stored_text("p1@gw") and "+336" not in _stored_text("p1@gw")
    assert _queue_text().count(ADDR) == 2  # tenant 9's batch, still queued
    # The edge's ledger forgot the fingerprints of the person's events (they hashed the data).
    left = set(GatewayEvent.objects.values_list("fingerprint", flat=True))
    assert len(fingerprints - left) == 2 and len(left) == 2

    # A re-post of the original events after the erasure: queued again, drained masked.
    _post(gw, "p1@gw", labels={"from": "+33612345678"})
    gateway_batches_drain()
    assert ADDR not in _stored_text("p1@gw") and "+336" not in _stored_text("p1@gw")
    assert Call.objects.get(call_id="p1@gw").remote_addr == ""
    assert Call.objects.get(call_id="t9@gw").remote_addr == f"{ADDR}:5060"


def test_queued_events_of_a_stored_call_are_masked_at_rest_too(gw):
    _post(gw, "p1@gw")
    gateway_batches_drain()
    late = call("p1@gw", tenant_id=7, remote_addr=f"{ADDR}:5060")
    gw.events(with_ids([event("established", 2, late)], prefix="late-"))
    assert ADDR in _queue_text()
    done = calls_erase(tenant_id=7, selector=erasure_selector(call_id="p1@gw"), apply=True)
    assert (done.queued, done.events) == (1, 3)
    assert ADDR not in _queue_text() and ADDR not in _stored_text("p1@gw")
    assert CallEvent.objects.filter(call_id="p1@gw").count() == 3


def test_a_set_aside_batch_is_masked_where_it_waits(gw):
    _post(gw, "p1@gw")
    GatewayBatch.objects.update(error="ValueError: a bug")
    # And one no one can read: left as it is, not a failure of the erasure.
    GatewayBatch.objects.create(
        batch_id="http-bad", gateway=GatewayBatch.objects.get().gateway, events="[{not json", event_count=1,
        received_at=timezone.now(),
    )  # fmt: skip
    done = calls_erase(tenant_id=7, selector=erasure_selector(remote_addr=ADDR), apply=True)
    assert done.queued == 2 and GatewayBatch.objects.count() == 2
    assert ADDR not in _queue_text() and GatewayBatch.objects.exclude(error="").count() == 1


def test_a_held_call_keeps_its_queued_events(gw):
    _post(gw, "p1@gw")
    legal_hold_place(call_id="p1@gw", reason="litigation")
    done = calls_erase(tenant_id=7, selector=erasure_selector(remote_addr=ADDR), apply=True)
    assert done.queued == 0 and _queue_text().count(ADDR) == 2
