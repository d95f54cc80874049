"""The HTTP edge's queue: accepted events are committed to GatewayBatch, and drained in batches of
up to max_events into the same store as the sink's, each event once."""

from __future__ import annotations

import pytest

from cdr.ingest.drain import gateway_batches_drain, gateway_batches_queued
from cdr.models import Call, CallEvent, GatewayBatch
from tests.factories import bye, call, event
from tests.integration.ingest.conftest import with_ids

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queued(monkeypatch):
    """Broker mode with a broker nobody listens on: requests are answered, nudges fail quietly."""
    from project.celery import app

    monkeypatch.setattr(app.conf, "task_always_eager", False)
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")


def test_accepted_events_wait_in_the_queue_and_a_drain_stores_them_once(gw, queued, caplog):
    for n in range(3):
        leg = call(f"q{n}@gw", tenant_id=7)
        body = gw.events(with_ids([event("ringing", 0, leg), bye(5, 5, leg)], prefix=f"r{n}-")).json()
        assert body["accepted"] == 2
    assert GatewayBatch.objects.count() == 3 and gateway_batches_queued() == 6
    assert CallEvent.objects.count() == 0
    assert "could not nudge cdr.gateway_batches_drain" in caplog.text

    assert gateway_batches_drain(max_events=3) == 6  # 2 + 2 > 3: one request's events per round
    assert GatewayBatch.objects.count() == 0 and CallEvent.objects.count() == 6
    assert sorted(Call.objects.values_list("call_id", "status")) == [
        ("q0@gw", "completed"),
        ("q1@gw", "completed"),
        ("q2@gw", "completed"),
    ]
    assert gateway_batches_drain() == 0  # idempotent: an empty queue is a no-op

    again = gw.events(with_ids([event("ringing", 0, call("q0@gw", tenant_id=7))], prefix="r0-")).json()
    assert again["duplicate"] == 1 and GatewayBatch.objects.count() == 0


def test_events_of_many_requests_are_stored_in_one_transaction(gw, queued, django_assert_max_num_queries):
    for n in range(10):
        gw.events(with_ids([event("ringing", 0, call(f"m{n}@gw", tenant_id=7))], prefix=f"m{n}-"))
    # Ten requests, one store: the worker's per-transaction cost is paid once, not ten times.
    with django_assert_max_num_queries(30):
        assert gateway_batches_drain() == 10
    assert Call.objects.count() == 10


def test_a_batch_that_cannot_be_stored_is_set_aside_and_the_queue_goes_on(gw, queued, caplog):
    from django.utils import timezone

    gw.events(with_ids([event("ringing", 0, call("a@gw", tenant_id=7))], prefix="a-"))
    # A row no worker can read (say, edited by hand): it must not block what is queued behind it.
    bad = GatewayBatch.objects.create(
        batch_id="http-bad",
        gateway=GatewayBatch.objects.get().gateway,
        events="[{not json",
        event_count=1,
        received_at=timezone.now(),
    )
    gw.events(with_ids([event("ringing", 0, call("b@gw", tenant_id=7))], prefix="b-"))

    assert gateway_batches_drain() == 2
    assert sorted(Call.objects.values_list("call_id", flat=True)) == ["a@gw", "b@gw"]
    bad.refresh_from_db()
    assert bad.error.startswith("JSONDecodeError") and gateway_batches_queued() == 0
    assert f"HTTP batch {bad.pk} set aside, not stored: JSONDecodeError" in caplog.text
    assert gateway_batches_drain() == 0  # set aside: not retried until an operator clears the error
