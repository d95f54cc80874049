"""HTTP ingestion with a real broker: answered only once published, 503 (nothing kept) when the
broker is down, stored by a real worker, and a re-post after a 503 or a success doubles nothing."""

from __future__ import annotations

import time

import pytest

from cdr.ingest.gateways import gateway_create
from cdr.models import Call, CallEvent, GatewayEvent
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


def test_accepted_means_published_503_means_nothing_kept_and_a_worker_stores_each_event_once(broker, worker_env):
    from tests.services import Worker

    gw = GatewayClient(gateway_create(name="edge-1", tenant_ids=[7]))
    first = with_ids([event("ringing", 0, call("h1@gw")), bye(5, 5, call("h1@gw"))], "a")
    response = gw.events(first)
    assert response.json()["accepted"] == 2
    assert broker.llen("cdr") == 1  # durable in the broker when answered; no worker yet
    assert CallEvent.objects.count() == 0

    broker.stop()
    second = with_ids([event("ringing", 0, call("h2@gw")), bye(6, 6, call("h2@gw"))], "b")
    down = gw.events(second)
    assert down.status_code == 503
    assert down.headers["Retry-After"] == "5" and down.json()["accepted"] == 0
    assert GatewayEvent.objects.filter(event_id__startswith="b").count() == 0  # rolled back with the publish

    broker.start()  # same port, same append-only file: the first batch is still queued
    worker = Worker(worker_env)
    worker.start()
    try:
        assert gw.events(second).json()["accepted"] == 2  # the gateway posts again after a 503
        wait_for(lambda: CallEvent.objects.count() == 4)
        again = gw.events(first + second).json()
        assert (again["accepted"], again["duplicate"]) == (0, 4)
        assert sorted(Call.objects.values_list("call_id", "status")) == [("h1@gw", "completed"), ("h2@gw", "completed")]
        assert set(CallEvent.objects.values_list("source", flat=True)) == {"http"}
    finally:
        worker.stop()
