"""HTTP ingestion with a real broker and worker: accepted means committed to the database queue
(whether or not the broker is up), a real worker drains it, and re-posts double nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from cdr import simulator
from cdr.dispatch import drain_nudges_wait
from cdr.lifecycle.encode import encode_hook_call
from cdr.lifecycle.events import Event, parse_event
from cdr.models import Call, CallEvent, GatewayBatch, GatewayEvent
from cdr.services.gateways import gateway_create
from tests.support.factories import bye, call, event
from tests.support.http import GatewayClient, with_ids
from tests.support.oracle import mismatches

pytestmark = pytest.mark.e2e


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
    from tests.support.processes import Worker

    gw = GatewayClient(gateway_create(name="edge-1", tenant_ids=[7]))
    first = with_ids([event("ringing", 0, call("h1@gw")), bye(5, 5, call("h1@gw"))], "a")
    response = gw.events(first)
    assert response.json()["accepted"] == 2
    assert GatewayBatch.objects.count() == 1  # durable when answered: committed to the queue
    assert drain_nudges_wait() and broker.llen("cdr") == 1  # and a drain was nudged; no worker yet
    assert CallEvent.objects.count() == 0

    broker.freeze()  # alive but not answering: a publish would hang until its timeout
    frozen = with_ids([event("ringing", 0, call("h0@gw"))], "f")
    assert gw.events(frozen).json()["accepted"] == 1
    assert not drain_nudges_wait(0)  # answered while its nudge still waits for the broker
    broker.thaw()
    assert drain_nudges_wait()

    broker.stop()
    second = with_ids([event("ringing", 0, call("h2@gw")), bye(6, 6, call("h2@gw"))], "b")
    down = gw.events(second)
    assert down.status_code == 200 and down.json()["accepted"] == 2  # the broker is not on the path
    assert GatewayBatch.objects.count() == 3 and GatewayEvent.objects.count() == 5

    broker.start()  # same port, same append-only file: the first nudge is still queued
    worker = Worker(worker_env)
    worker.start()
    try:
        # The one nudge drains both requests' events (the second's nudge was lost with the broker).
        wait_for(lambda: CallEvent.objects.count() == 5)
        wait_for(lambda: GatewayBatch.objects.count() == 0)
        again = gw.events(first + second).json()
        assert (again["accepted"], again["duplicate"]) == (0, 4)
        third = with_ids([event("ringing", 0, call("h3@gw"))], "c")
        assert gw.events(third).json()["accepted"] == 1
        wait_for(lambda: Call.objects.filter(call_id="h3@gw").exists())
        assert sorted(Call.objects.values_list("call_id", "status")) == [
            ("h0@gw", "ringing"),
            ("h1@gw", "completed"),
            ("h2@gw", "completed"),
            ("h3@gw", "ringing"),
        ]
        assert set(CallEvent.objects.values_list("source", flat=True)) == {"http"}
        assert CallEvent.objects.count() == 6
    finally:
        worker.stop()


def wire_events(calls: list[simulator.SimCall]) -> list[dict]:
    """The simulated hook calls as a gateway posts them, in the order it makes them, each with its id."""
    events, stamp = [], time.time_ns()
    for c, sim in enumerate(calls):
        labels = sim.labels  # as set_labels before each leg's first hook
        for s, step in enumerate(sim.steps):
            stamp += 1000
            event = encode_hook_call(str(step.method), step.args, stamp, labels.get(step.leg))
            events.append({**event, "event_id": f"{c}-{s}"})
    return events


def test_a_worker_killed_mid_drain_loses_and_doubles_nothing(broker, worker_env):
    from tests.support.processes import Worker

    calls = simulator.generate(2000, seed=11, base_time=datetime(2026, 11, 3, 8, tzinfo=UTC), time_scale=0.01)
    events = wire_events(calls)
    tenants = sorted({s.args[0].tenant_id for c in calls for s in c.steps if hasattr(s.args[0], "tenant_id")})
    gw = GatewayClient(gateway_create(name="edge-1", tenant_ids=tenants))
    for i in range(0, len(events), 100):
        assert gw.events(events[i : i + 100]).status_code == 200
    parsed = [parse_event(e, received_at=datetime.now(UTC)) for e in events]
    want = len({p.fingerprint for p in parsed if isinstance(p, Event)})
    assert want > 5000 and GatewayBatch.objects.count() == len(range(0, len(events), 100))

    worker = Worker(worker_env)
    worker.start()
    try:
        wait_for(lambda: CallEvent.objects.exists(), timeout=60)  # the first 1,000 events committed
        worker.kill()  # SIGKILL, mid-drain: its open transaction rolls back, its batches stay queued
    finally:
        worker.stop()
    stored_at_kill, queued_at_kill = CallEvent.objects.count(), GatewayBatch.objects.count()
    assert 0 < stored_at_kill < want and queued_at_kill > 0, (stored_at_kill, queued_at_kill)

    replacement = Worker(worker_env)  # the killed drain's message is redelivered to it
    replacement.start()
    try:
        wait_for(lambda: not GatewayBatch.objects.exists(), timeout=120)
    finally:
        replacement.stop()
    assert CallEvent.objects.count() == want  # nothing lost, nothing twice
    problems = mismatches(simulator.expected_by_call_id(calls))
    assert problems == [], "\n".join(problems[:20])
