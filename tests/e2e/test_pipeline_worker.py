"""The whole pipeline for real: simulator -> CeleryLifecycleSink -> Redis -> worker -> PostgreSQL."""

import threading
import time
from datetime import UTC, datetime

import pytest

from cdr import simulator
from cdr.models import CallEvent
from cdr.simulator.oracle import distinct_event_count
from cdr.sinks.lifecycle import CeleryLifecycleSink
from cdr.sinks.publish import CeleryPublisher
from tests.support.oracle import mismatches
from tests.support.processes import Worker

pytestmark = pytest.mark.e2e
BASE = datetime(2026, 11, 2, 8, tzinfo=UTC)


def wait_until_stored(calls, timeout=180):
    expected = simulator.expected_by_call_id(calls)
    want_events = distinct_event_count(calls)
    deadline = time.monotonic() + timeout
    problems = ["not checked"]
    while time.monotonic() < deadline:
        if CallEvent.objects.count() >= want_events:
            problems = mismatches(expected)
            if not problems:
                break
        time.sleep(0.5)
    assert problems == [], "\n".join(problems[:20])
    assert CallEvent.objects.count() == want_events  # nothing lost, nothing twice
    return expected


def make_sink(broker_app, tmp_path):
    return CeleryLifecycleSink(
        publisher=CeleryPublisher(broker_app, timeout=0.5),
        spool_path=tmp_path / "spool.sqlite3",
        flush_seconds=0.02,
        retry_seconds=0.2,
    )


def test_a_thousand_calls_arrive_as_exactly_their_records(broker_app, worker, tmp_path):
    calls = simulator.generate(1000, seed=3, base_time=BASE, time_scale=0.01)
    sink = make_sink(broker_app, tmp_path)
    stats = simulator.run(calls, sink, threads=4)
    assert not stats.errors
    assert sink.close(timeout=60)
    expected = wait_until_stored(calls)
    assert len(expected) >= 1000
    assert sink.stats()["confirmed"] == stats.total and sink.stats()["spool_pending"] == 0


def test_broker_stopped_mid_run_loses_nothing(broker_app, worker, redis_server, tmp_path):
    calls = simulator.generate(600, seed=4, base_time=BASE, time_scale=0.01)
    sink = make_sink(broker_app, tmp_path)
    runner = threading.Thread(target=simulator.run, args=(calls, sink), kwargs={"threads": 4, "rate": 300})
    runner.start()
    time.sleep(0.6)
    redis_server.stop()  # SIGKILL: the broker is gone mid-run
    time.sleep(0.8)
    waiting_while_down = sink.stats()["spool_pending"]
    redis_server.start()
    runner.join()
    assert sink.close(timeout=60)
    assert waiting_while_down > 0, "the outage did not hit the sink: nothing waited in the spool"
    wait_until_stored(calls)
    assert sink.stats()["spool_pending"] == 0


def test_worker_killed_mid_batch_loses_and_duplicates_nothing(broker_app, worker, worker_env, redis_server, tmp_path):
    calls = simulator.generate(3000, seed=5, base_time=BASE, time_scale=0.01)
    sink = make_sink(broker_app, tmp_path)
    simulator.run(calls, sink, threads=4)
    deadline = time.monotonic() + 60
    while CallEvent.objects.count() == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    import redis

    r = redis.Redis(port=redis_server.port)
    in_flight = r.hlen("unacked")
    worker.kill()  # SIGKILL to the main process and its children, mid-batch
    assert in_flight > 0, "no task was in flight when the worker was killed"
    stored_at_kill = CallEvent.objects.count()
    assert 0 < stored_at_kill
    replacement = Worker(worker_env)
    replacement.start()
    try:
        assert sink.flush(timeout=120), sink.stats()
        sink.close()
        wait_until_stored(calls)
    except AssertionError:
        print(
            "queue",
            r.llen("cdr"),
            "unacked",
            r.hlen("unacked"),
            "events",
            CallEvent.objects.count(),
            "want",
            distinct_event_count(calls),
            "at kill",
            stored_at_kill,
            "in flight",
            in_flight,
        )
        raise
    finally:
        replacement.stop()
