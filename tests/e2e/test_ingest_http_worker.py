"""HTTP ingestion with a real broker and worker: accepted means committed to the database queue
(whether or not the broker is up), a real worker drains it, and re-posts double nothing."""

from __future__ import annotations

import time

import pytest

from cdr.ingest.gateways import gateway_create
from cdr.models import Call, CallEvent, GatewayBatch, GatewayEvent
from tests.factories import bye, call, event
from tests.integration.ingest.conftest import GatewayClient, with_ids


@pytest.fixture
def broker(redis_server, transactional_db, monkeypatch):
    """The project's Celery app publishing to the test's Redis instead of running tasks eagerly."""
    from project.celery import app

    monkeypatch.setattr(app.conf, "task_always_eager", False)
    monkeypatch.setattr(app.conf, "broker_url", redis_server.url)
    return redis_server


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_accepted_means_queued_even_with_the_broker_down_and_a_worker_stores_each_event_once(broker, worker_env):
    from tests.services import Worker

    gw = GatewayClient(gateway_create(name="edge-1", tenant_ids=[7]))
    first = with_ids([event("ringing", 0, call("h1@gw")), bye(5, 5, call("h1@gw"))], "a")
    response = gw.events(first)
    assert response.json()["accepted"] == 2
    assert GatewayBatch.objects.count() == 1  # durable when answered: committed to the queue
    assert broker.llen("cdr") == 1  # and a drain was nudged; no worker yet
    assert CallEvent.objects.count() == 0

    broker.stop()
    second = with_ids([event("ringing", 0, call("h2@gw")), bye(6, 6, call("h2@gw"))], "b")
    down = gw.events(second)
    assert down.status_code == 200 and down.json()["accepted"] == 2  # the broker is not on the path
    assert GatewayBatch.objects.count() == 2 and GatewayEvent.objects.count() == 4

    broker.start()  # same port, same append-only file: the first nudge is still queued
    worker = Worker(worker_env)
    worker.start()
    try:
        # The one nudge drains both requests' events (the second's nudge was lost with the broker).
        wait_for(lambda: CallEvent.objects.count() == 4)
        wait_for(lambda: GatewayBatch.objects.count() == 0)
        again = gw.events(first + second).json()
        assert (again["accepted"], again["duplicate"]) == (0, 4)
        third = with_ids([event("ringing", 0, call("h3@gw"))], "c")
        assert gw.events(third).json()["accepted"] == 1
        wait_for(lambda: Call.objects.filter(call_id="h3@gw").exists())
        assert sorted(Call.objects.values_list("call_id", "status")) == [
            ("h1@gw", "completed"),
            ("h2@gw", "completed"),
            ("h3@gw", "ringing"),
        ]
        assert set(CallEvent.objects.values_list("source", flat=True)) == {"http"}
        assert CallEvent.objects.count() == 5
    finally:
        worker.stop()
