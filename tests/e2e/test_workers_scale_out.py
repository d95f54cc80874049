"""Two worker hosts (separate processes, each with its own CDR_VAR_DIR: spool, metrics, logs)
consuming the same queues: they share the load, nothing is written twice, and a recording does not
need the disk of the process that spooled it (docs/operations.md, "Scaling workers")."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db.models import Count

from cdr import simulator
from cdr.models import Call, CallEvent, Hangup, Recording, Transfer, WavStatus
from cdr.simulator.audio import sn3_conversation
from cdr.simulator.oracle import distinct_event_count
from cdr.sinks.lifecycle import CeleryLifecycleSink
from cdr.sinks.publish import CeleryPublisher
from tests.support.audio import read_wav
from tests.support.oracle import mismatches
from tests.support.processes import ROOT, Worker, free_port
from tests.support.s3 import ACCESS_KEY, SECRET_KEY, SeaweedS3

pytestmark = pytest.mark.e2e
BASE = datetime(2026, 11, 9, 8, tzinfo=UTC)
QUEUES = "cdr,media"


@pytest.fixture(scope="module")
def weed(tmp_path_factory):
    server = SeaweedS3(tmp_path_factory.mktemp("seaweedfs"))
    try:
        server.start()
    except BaseException:
        server.close()
        raise
    yield server
    server.close()


@pytest.fixture
def bucket(weed, request):
    """A bucket of the test's own, so "every object belongs to a row" sees only this test's."""
    name = "scale-" + request.node.name.replace("_", "-")[:40].strip("-").lower()
    weed.create_bucket(name)
    return name


@pytest.fixture
def host_env(worker_env, weed, bucket, tmp_path):
    """What one worker host is given: the shared services, and a directory of its own."""

    def make(host: str) -> dict[str, str]:
        var = tmp_path / host
        var.mkdir()
        return worker_env | {
            "CDR_VAR_DIR": str(var),  # spool, sink outbox, worker.log: never shared
            "CDR_S3_BUCKET": bucket,
            "CDR_S3_ENDPOINT_URL": weed.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "DJANGO_SECRET_KEY": "scale-out-test-key-shared-by-every-host",
        }

    return make


@pytest.fixture
def broker(redis_server, transactional_db, monkeypatch):
    """The project's Celery app publishing to the test's Redis instead of running tasks eagerly."""
    from project.celery import app

    def drop_pools():
        # The app caches its pools with the broker URL of its first publish (maybe an earlier
        # test's); Celery drops them the same way after a fork (Celery._after_fork).
        app._pool = None
        app.amqp._producer_pool = None

    drop_pools()
    monkeypatch.setattr(app.conf, "task_always_eager", False)
    monkeypatch.setattr(app.conf, "broker_url", redis_server.url)
    yield app
    drop_pools()


@pytest.fixture
def s3_here(settings, weed, bucket, tmp_path):
    """The test process (the gateway host) stores recordings in the same bucket as the workers."""
    from cdr.selectors.recordings import recording_policies_forget

    settings.STORAGES = {
        **settings.STORAGES,
        "recordings": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": weed.storage_options(bucket)},
    }
    settings.CDR_RECORDINGS = {**settings.CDR_RECORDINGS, "SPOOL_DIR": tmp_path / "gateway" / "spool"}
    recording_policies_forget()
    yield
    recording_policies_forget()


@pytest.fixture
def gateway_threads_close_connections(monkeypatch):
    """The simulator's gateway threads end with the run: their persistent connections (CONN_MAX_AGE)
    would outlive them and keep the test database from being dropped."""
    from django.db import connections

    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)


@pytest.fixture
def workers(host_env):
    started: list[Worker] = []

    def start(host: str, **kw) -> Worker:
        w = Worker(host_env(host), queues=QUEUES, name=f"{host}@%h", **kw)
        w.start()
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()


def node(host: str) -> str:
    return f"{host}@{socket.gethostname()}"


def wait_for(predicate, timeout=180.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def wait_ready(app, hosts, timeout=60.0):
    """Until each worker answers remote control (it consumes from then on)."""
    wanted = {node(h) for h in hosts}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = app.control.ping(destination=list(wanted), timeout=1.0)
        if wanted <= {name for reply in replies for name in reply}:
            return
    raise AssertionError(f"workers {sorted(wanted)} never answered")


def task_totals(app, hosts):
    """Per worker: how many tasks of each name it ran (Celery's own counters, ``inspect stats``)."""
    stats = app.control.inspect(destination=[node(h) for h in hosts], timeout=10.0).stats() or {}
    return {h: stats.get(node(h), {}).get("total", {}) for h in hosts}


def bucket_keys(weed, bucket):
    keys: set[str] = set()
    for page in weed.client().get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.update(o["Key"] for o in page.get("Contents", []))
    return keys


# --- the case a shared spool used to be needed for --------------------------------------------

GATEWAY_HOST = """
import json
from datetime import UTC, datetime

import django

django.setup()
from cdr import simulator
from cdr.hooks import RecordingArtifact
from cdr.simulator.audio import sn3_conversation
from cdr.sinks import StorageRecordingSink

calls = simulator.generate(20, seed=21, base_time=datetime(2026, 11, 9, 8, tzinfo=UTC))
call = next(c for c in calls if c.meta.codec in ("pcmu", "pcma"))
blob = sn3_conversation(call, turns=2, turn_seconds=0.4)
sink = StorageRecordingSink(finish_timeout=20, retry_seconds=1, max_retry_seconds=1)
result = sink.finish_recording(
    RecordingArtifact(
        call_id="lost-db@gw", format="sn3", payload=blob, codec=call.meta.codec, sample_rate=8000, channels=1
    )
)
sink.close()
print(json.dumps({"key": result.object_key, "spooled": sink.spool.names(), "stats": sink.stats(), "bytes": len(blob)}))
"""


def run_gateway_host(env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", GATEWAY_HOST],
        cwd=ROOT,
        env=env | {"DJANGO_SETTINGS_MODULE": "project.settings", "LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_worker_on_another_host_stores_a_recording_whose_spooling_host_lost_its_database(
    broker_app, workers, host_env, weed, bucket, tmp_path
):
    """Host A spools a recording, puts it in storage, cannot record its row (its database is
    unreachable) and is gone; worker B, whose spool has never seen it, finishes it from the task."""
    b = workers("b")
    wait_ready(broker_app, ["b"])
    gateway = host_env("a")
    gateway["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:{free_port()}/nothing-listens-here"
    out = run_gateway_host(gateway)
    assert out["key"].endswith(".sn3") and out["stats"]["upload_failures"] >= 1, out
    spool_a = Path(gateway["CDR_VAR_DIR"]) / "spool" / "recordings"
    assert sorted(p.name for p in spool_a.glob("*.json")) == [f"{n}.json" for n in out["spooled"]]
    assert out["spooled"], "host A kept its spool entry (drained when it comes back)"
    assert not any(Path(b.env["CDR_VAR_DIR"]).rglob("*.blob")), "worker B never had the bytes on its disk"

    wait_for(
        lambda: Recording.objects.filter(call_id="lost-db@gw", wav_status=WavStatus.READY).exists(),
        timeout=90,
        what="worker B to record and transcode the recording",
    )
    rec = Recording.objects.get(call_id="lost-db@gw")
    assert rec.storage_key == out["key"] and rec.bytes == out["bytes"]
    channels, _, rate, frames = read_wav(weed.client().get_object(Bucket=bucket, Key=rec.wav_key)["Body"].read())
    assert (channels, rate) == (2, 8000) and len(frames) > 0
    assert task_totals(broker_app, ["b"])["b"].get("cdr.recording_upload", 0) >= 1

    # Host A back with its database: its spool drains into the same object and row.
    gateway["DATABASE_URL"] = b.env["DATABASE_URL"]
    again = run_gateway_host(gateway)
    assert again["spooled"] == [] and again["key"] == out["key"]
    assert Recording.objects.filter(call_id="lost-db@gw").count() == 1
    assert bucket_keys(weed, bucket) == {rec.storage_key, rec.wav_key}


# --- two hosts share the load ---------------------------------------------------------------


def make_lifecycle_sink(broker_app, tmp_path):
    return CeleryLifecycleSink(
        publisher=CeleryPublisher(broker_app, timeout=0.5),
        spool_path=tmp_path / "gateway" / "outbox.sqlite3",
        flush_seconds=0.02,
        retry_seconds=0.2,
    )


def drive(calls, broker_app, tmp_path, recording_sink, recorded: set[str]):
    """The gateway host: lifecycle events to the broker, recordings through the in-process sink."""

    def factory(call):
        blob = sn3_conversation(call, turns=2, turn_seconds=0.3)
        if blob:
            recorded.add(call.call_id)
        return blob

    sink = make_lifecycle_sink(broker_app, tmp_path)
    stats = simulator.run(calls, sink, recording_sink, threads=4, recording_factory=factory)
    assert not stats.errors, stats.first_errors
    assert sink.close(timeout=60), sink.stats()


def wait_settled(all_calls, recorded: set[str], timeout=600.0):
    expected = simulator.expected_by_call_id(all_calls)
    want_events = distinct_event_count(all_calls)

    def done():
        if CallEvent.objects.count() < want_events:
            return False
        ready = Recording.objects.filter(call_id__in=recorded, wav_status=WavStatus.READY).count()
        return ready == len(recorded) and not mismatches(expected)

    try:
        wait_for(done, timeout=timeout, what="every call and recording")
    except AssertionError:
        problems = mismatches(expected)
        statuses = dict(Recording.objects.values_list("wav_status").annotate(n=Count("id")))
        raise AssertionError(
            f"events {CallEvent.objects.count()}/{want_events}, recordings by status {statuses} "
            f"of {len(recorded)}: " + "\n".join(problems[:20])
        ) from None
    return expected, want_events


def consume_only(app, host: str, hosts: list[str]) -> None:
    """``host`` consumes the queues, the others do not (Celery's remote control, acknowledged)."""
    for h in hosts:
        for queue in QUEUES.split(","):
            if h == host:
                replies = app.control.add_consumer(queue, destination=[node(h)], reply=True, timeout=5.0)
            else:
                replies = app.control.cancel_consumer(queue, destination=[node(h)], reply=True, timeout=5.0)
            assert replies, f"{h} did not answer for {queue}"


@pytest.fixture
def recording_sink(s3_here, gateway_threads_close_connections):
    """The gateway host's in-process recording sink (its own spool), closed after the test."""
    from cdr.sinks import StorageRecordingSink

    sink = StorageRecordingSink(finish_timeout=20, retry_seconds=0.5, max_retry_seconds=2)
    yield sink
    sink.close()


def test_two_worker_hosts_share_the_load_and_write_every_record_and_recording_once(
    broker, broker_app, workers, weed, bucket, recording_sink, tmp_path
):
    hosts = ["a", "b"]
    for h in hosts:
        workers(h, concurrency=2)
    wait_ready(broker_app, hosts)
    recorded: set[str] = set()
    batches = [
        simulator.generate(120, seed=31 + i, base_time=BASE.replace(hour=8 + i), time_scale=0.01) for i in range(3)
    ]
    # By construction, not by the scheduler's luck: the first batch only A consumes, the second
    # only B, the third both at once.
    consume_only(broker_app, "a", hosts)
    drive(batches[0], broker_app, tmp_path, recording_sink, recorded)
    wait_settled(batches[0], recorded)
    after_a = task_totals(broker_app, hosts)
    consume_only(broker_app, "b", hosts)
    drive(batches[1], broker_app, tmp_path, recording_sink, recorded)
    wait_settled(batches[0] + batches[1], recorded)
    for h in hosts:
        for queue in QUEUES.split(","):
            broker_app.control.add_consumer(queue, destination=[node(h)], reply=True, timeout=5.0)
    drive(batches[2], broker_app, tmp_path, recording_sink, recorded)
    all_calls = batches[0] + batches[1] + batches[2]
    expected, want_events = wait_settled(all_calls, recorded)
    assert recording_sink.flush(timeout=30) and recording_sink.stats()["spool_pending"] == 0

    totals = task_totals(broker_app, hosts)
    for h in hosts:
        for task in ("cdr.events_ingest", "cdr.recording_transcode"):
            assert totals[h].get(task, 0) > 0, (h, task, totals)
    assert after_a["b"] == {}, f"B ran tasks while it did not consume: {after_a}"
    assert sum(t.get("cdr.recording_transcode", 0) for t in totals.values()) == len(recorded)

    # Written once: the oracle matches exactly, nothing extra, no event, hangup or transfer twice.
    assert len(expected) >= 360 and mismatches(expected) == []
    assert Call.objects.count() == len(expected)
    assert CallEvent.objects.count() == want_events
    assert Transfer.objects.count() == sum(len(e.transfers) for e in expected.values())
    assert Hangup.objects.count() == sum(1 for e in expected.values() if e.ended_at is not None)
    # Every recording plays, from S3, and every object in the bucket belongs to a row.
    recordings = list(Recording.objects.values_list("call_id", "storage_key", "wav_key"))
    assert sorted(c for c, _, _ in recordings) == sorted(recorded) and len(recorded) > 50
    for _, _, wav_key in recordings[:: max(1, len(recordings) // 20)]:
        channels, _, _, frames = read_wav(weed.client().get_object(Bucket=bucket, Key=wav_key)["Body"].read())
        assert channels == 2 and len(frames) > 0
    assert bucket_keys(weed, bucket) == {k for _, s, w in recordings for k in (s, w)}
    assert not list((tmp_path / "gateway" / "spool").glob("*.blob"))
    for h in hosts:  # each host's own directory: no spool was needed on a worker
        assert not list((tmp_path / h).rglob("*.blob")), h
    assert os.path.exists(tmp_path / "a" / "worker.log") and os.path.exists(tmp_path / "b" / "worker.log")
