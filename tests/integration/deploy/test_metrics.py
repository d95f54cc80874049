"""/metrics in one process: the bearer token, the backlog read at scrape time, the counters kept by
the process (exact deltas), the in-process sink's counts, and who may reach it. Summed over many
processes: tests/e2e/test_metrics_processes.py."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from cdr.hooks import CallMeta
from cdr.ingest.signing import signature_v1, signed_headers
from cdr.metrics import TASK_OUTCOMES
from cdr.models import Gateway, GatewayBatch, ReportPending
from cdr.services.events import events_ingest
from cdr.services.gateways import gateway_create
from cdr.sinks.lifecycle import CeleryLifecycleSink
from tests.support.factories import call, event
from tests.support.http import GatewayClient, with_ids

pytestmark = pytest.mark.django_db
TOKEN = "metrics-token-0123456789"
# An address nothing listens on (bound, never listening): a broker that is down.
_closed = socket.socket()
_closed.bind(("127.0.0.1", 0))
CLOSED_PORT = _closed.getsockname()[1]


@pytest.fixture
def metrics_on(settings):
    settings.CDR_METRICS_TOKEN = TOKEN


def _values(response):
    return {
        s.name: s.value for family in text_string_to_metric_families(response.content.decode()) for s in family.samples
    }


def test_off_without_a_token(client):
    assert client.get("/metrics").status_code == 404


def test_the_token_is_required(client, metrics_on):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401


def test_the_backlog_gauges(client, metrics_on, django_assert_max_num_queries):
    now = timezone.now()
    gateway = Gateway.objects.create(name="gw", key_id="k1", secret_encrypted="-")
    for n, (count, error, age) in enumerate([(10, "", 30), (5, "", 5), (7, "boom", 100)]):
        GatewayBatch.objects.create(
            batch_id=f"b{n}",
            gateway=gateway,
            events="[]",
            event_count=count,
            received_at=now - timedelta(seconds=age),
            error=error,
        )
    ReportPending.objects.bulk_create([ReportPending(call_id=f"c{n}", marked_at=now) for n in range(3)])
    with django_assert_max_num_queries(3):
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    values = _values(response)
    assert values["cdr_http_batches_queued"] == 2
    assert values["cdr_http_events_queued"] == 15
    assert 30 <= values["cdr_http_queue_oldest_age_seconds"] < 60
    assert values["cdr_http_batches_set_aside"] == 1
    assert values["cdr_http_events_set_aside"] == 7
    assert values["cdr_rollup_legs_pending"] == 3


def test_an_empty_backlog_reads_zero(client, metrics_on):
    values = _values(client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"))
    assert values["cdr_http_queue_oldest_age_seconds"] == 0
    assert values["cdr_http_batches_queued"] == 0


# --- counted by the process (single-process mode: this test process's registry) -------------------
def _scrape(client):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def _ingest(values, path, outcome, reason=""):
    key = ("cdr_ingest_events_total", (("outcome", outcome), ("path", path), ("reason", reason)))
    return values[key]  # every series exists from the start, at 0


def test_the_edge_counts_each_answered_event_once_by_reason_class(
    client, metrics_on, django_capture_on_commit_callbacks
):
    gw = GatewayClient(gateway_create(name="edge", tenant_ids=[7]))
    before = _scrape(client)
    batch = with_ids(
        [
            event("ringing", 0, call("a@gw")),
            {"type": "no_such_event"},
            event("ringing", 0, call("b@gw", tenant_id=8)),
        ]
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert gw.events(batch).json()["accepted"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        conflict = [dict(event("ringing", 0, call("a@gw", codec="pcmu")), event_id="e0")]  # same id, other content
        assert gw.events(batch + conflict).json()["duplicate"] == 1
    after = _scrape(client)
    delta = {
        (outcome, reason): _ingest(after, "http", outcome, reason) - _ingest(before, "http", outcome, reason)
        for outcome, reason in [
            ("accepted", ""),
            ("duplicate", ""),
            ("rejected", "invalid"),
            ("rejected", "tenant"),
            ("rejected", "conflict"),
            ("rejected", "startless"),
        ]
    }
    assert delta == {
        ("accepted", ""): 1,
        ("duplicate", ""): 1,
        ("rejected", "invalid"): 2,
        ("rejected", "tenant"): 2,
        ("rejected", "conflict"): 1,
        ("rejected", "startless"): 0,
    }
    # The embedded default stored the accepted event inline: counted by the store as "http_store".
    assert _ingest(after, "http_store", "accepted") - _ingest(before, "http_store", "accepted") == 1


def test_nothing_is_counted_when_the_transaction_rolls_back(client, metrics_on, django_capture_on_commit_callbacks):
    from django.db import transaction

    before = _ingest(_scrape(client), "sink", "accepted")
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                events_ingest(events=[event("ringing", 0, call("r@gw"))], source="sink")
                raise RuntimeError("the caller's transaction fails after the store")
        except RuntimeError:
            pass
    assert _ingest(_scrape(client), "sink", "accepted") == before
    with django_capture_on_commit_callbacks(execute=True):
        events_ingest(events=[event("ringing", 0, call("r@gw"))], source="sink")
    assert _ingest(_scrape(client), "sink", "accepted") == before + 1


def test_task_outcomes_and_durations_from_the_celery_signals(client, metrics_on):
    from project.celery import app

    attempts = []

    @app.task(name="cdr.test_metrics_flaky", bind=True, max_retries=1, default_retry_delay=0)
    def flaky(self):
        attempts.append(self.request.retries)
        if not self.request.retries:
            raise self.retry()
        return "ok"

    @app.task(name="cdr.test_metrics_broken")
    def broken():
        raise ValueError("broken")

    def runs(values, task, outcome):
        return values.get(("cdr_tasks_total", (("outcome", outcome), ("task", task))), 0)

    try:
        before = _scrape(client)
        flaky.apply(throw=False)
        broken.apply(throw=False)
        after = _scrape(client)
    finally:
        app.tasks.unregister(flaky.name)
        app.tasks.unregister(broken.name)
    assert attempts == [0, 1]
    assert [
        runs(after, "cdr.test_metrics_flaky", o) - runs(before, "cdr.test_metrics_flaky", o) for o in TASK_OUTCOMES
    ] == [
        1,
        1,
        0,
    ]
    assert [
        runs(after, "cdr.test_metrics_broken", o) - runs(before, "cdr.test_metrics_broken", o) for o in TASK_OUTCOMES
    ] == [0, 0, 1]
    count = ("cdr_task_duration_seconds_count", (("task", "cdr.test_metrics_flaky"),))
    assert after[count] - before.get(count, 0) == 2


def test_recordings_waiting_in_the_spool_pending_and_failed_transcodes(client, metrics_on, recordings_conf):
    from cdr.models import Recording, Tenant, WavStatus
    from cdr.storage.spool import RecordingSpool

    tenant = Tenant.objects.create(id=7)
    for n, status in enumerate([WavStatus.PENDING, WavStatus.PENDING, WavStatus.FAILED, WavStatus.READY]):
        Recording.objects.create(
            tenant=tenant,
            call_id=f"r{n}",
            format="sn3",
            bytes=1,
            sha256=f"{n:064x}",
            storage_key=f"k{n}",
            wav_status=status,
        )
    Recording.objects.create(
        tenant=tenant,
        call_id="gone",
        format="sn3",
        bytes=1,
        sha256="f" * 64,
        storage_key="k",
        deleted_at=timezone.now(),
    )
    before = _scrape(client)[("cdr_recordings_spooled_total", ())]
    RecordingSpool(recordings_conf["SPOOL_DIR"]).put("one", meta={}, data=b"x")
    values = _scrape(client)
    assert values[("cdr_recordings_transcode_pending", ())] == 2
    assert values[("cdr_recordings_transcode_failed", ())] == 1
    assert values[("cdr_recordings_spool_waiting", ())] == 1
    assert values[("cdr_recordings_spooled_total", ())] == before + 1


def test_the_transcode_counts_read_only_the_recordings_without_a_wav():
    """At every scrape: on PostgreSQL the partial index cdr_recording_unready (live, not ready)
    answers, not a scan of every recording."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cdr.selectors.recordings import recordings_transcode_state

    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    with CaptureQueriesContext(connection) as queries:
        recordings_transcode_state()
    (query,) = queries.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a test table is tiny: ask what it would use
        cursor.execute("EXPLAIN " + query["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "cdr_recording_unready" in plan, plan


@pytest.mark.django_db(transaction=True)
def test_the_process_that_owns_the_sink_exports_its_counts(client, metrics_on, tmp_path, monkeypatch):
    from celery import Celery

    from cdr import sinks
    from cdr.sinks.publish import CeleryPublisher

    assert not any(name.startswith("cdr_sink_") for name, _ in _scrape(client))  # no sink, no sink metrics
    down = Celery("down", broker=f"redis://127.0.0.1:{CLOSED_PORT}/0", set_as_current=False)
    sink = CeleryLifecycleSink(
        publisher=CeleryPublisher(down, timeout=0.2),
        spool_path=tmp_path / "outbox.sqlite3",
        spool_max_events=3,
        flush_seconds=0.005,
        retry_seconds=30,
    )
    monkeypatch.setattr(sinks, "_sink", sink)
    try:
        for n in range(5):  # one at a time: each its own batch of one
            sink.on_ringing(CallMeta(call_id=f"k{n}", tenant_id=7))
            deadline = time.monotonic() + 10
            while sink.stats().get("observed", 0) < n + 1:
                assert time.monotonic() < deadline
                time.sleep(0.005)
        values = _scrape(client)
    finally:
        sink.close(timeout=0)
    assert values[("cdr_sink_events_observed_total", ())] == 5
    assert values[("cdr_sink_events_spooled", ())] == 3  # the broker is down: they wait in the outbox
    assert values[("cdr_sink_events_dropped_total", (("reason", "spool_full"),))] == 2
    assert values[("cdr_sink_events_dropped_total", (("reason", "buffer_full"),))] == 0
    assert values[("cdr_sink_events_published_total", ())] == 0
    assert values[("cdr_sink_events_buffered", ())] == 0


# --- reachability: probes and scrapers come by pod IP over plain HTTP ------------------------------
def test_metrics_and_probes_answer_a_pod_ip_over_plain_http_and_nothing_else_does(client, metrics_on, settings):
    settings.ALLOWED_HOSTS = ["cdr.example"]
    settings.SECURE_SSL_REDIRECT = True
    pod = {"HTTP_HOST": "10.1.2.3:8000"}
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **pod).status_code == 200
    assert client.get("/metrics", **pod).status_code == 401
    assert client.get("/healthz", **pod).status_code == 200
    assert client.get("/admin/login/", **pod).status_code == 400  # DisallowedHost, as before
    redirect = client.get("/admin/login/", HTTP_HOST="cdr.example")
    assert (redirect.status_code, redirect["Location"]) == (301, "https://cdr.example/admin/login/")


# --- the Grafana dashboard (docs/grafana/cdr-dashboard.json) --------------------------------------
DASHBOARD = Path(__file__).resolve().parents[3] / "docs" / "grafana" / "cdr-dashboard.json"
SUFFIXES = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"], "gauge": [""]}


def _exprs(panels):
    for panel in panels:
        yield from (t["expr"] for t in panel.get("targets", []))
        yield from _exprs(panel.get("panels", []))


@pytest.mark.django_db(transaction=True)
def test_every_metric_the_dashboard_plots_is_exported(client, metrics_on, tmp_path, monkeypatch):
    from cdr import sinks
    from cdr.sinks.publish import EagerPublisher

    dashboard = json.loads(DASHBOARD.read_text())
    exprs = list(_exprs(dashboard["panels"]))
    assert exprs and all(isinstance(e, str) for e in exprs)
    plotted = {name for e in exprs for name in re.findall(r"\bcdr_[a-z0-9_]+", e)}
    sink = CeleryLifecycleSink(publisher=EagerPublisher(), spool_path=tmp_path / "outbox.sqlite3")
    monkeypatch.setattr(sinks, "_sink", sink)  # a gateway process: the sink's metrics too
    try:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    finally:
        sink.close(timeout=1)
    exported = {
        family.name + suffix
        for family in text_string_to_metric_families(response.content.decode())
        for suffix in SUFFIXES.get(family.type, [""])
    }
    assert plotted - exported == set()
    # And every cdr_ metric is on the dashboard: a new one needs a panel (or a reason here).
    assert {n for n in exported if n.startswith("cdr_")} - plotted == set()


def _v1_count(client, gateway: str, refused: str) -> float:
    values = {
        (s.labels.get("gateway"), s.labels.get("refused")): s.value
        for family in text_string_to_metric_families(
            client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
        )
        for s in family.samples
        if s.name == "cdr_ingest_signature_v1_requests_total"
    }
    return values.get((gateway, refused), 0.0)


def test_v1_signed_requests_are_counted_by_gateway(client, metrics_on, settings):
    """Each authentic v1 request (deprecated, docs/ingest.md) counts for its gateway; v2 does not."""
    issued = gateway_create(name="gw-v1", tenant_ids=[7])
    before = _v1_count(client, "gw-v1", "false"), _v1_count(client, "gw-v1", "true")
    body = b"[]"
    ts, sha = str(int(time.time())), hashlib.sha256(body).hexdigest()
    v1 = {
        "X-CDR-Key": issued.gateway.key_id,
        "X-CDR-Timestamp": ts,
        "X-CDR-Signature": signature_v1(issued.secret, "POST", "/ingest/v1/events", ts, sha),
    }
    for _ in range(2):
        assert client.post("/ingest/v1/events", body, content_type="application/json", headers=v1).status_code == 400
    v2 = signed_headers(issued.gateway.key_id, issued.secret, "POST", "/ingest/v1/events", body,
                        headers={"Content-Type": "application/json"})  # fmt: skip
    assert client.post("/ingest/v1/events", body, content_type="application/json", headers=v2).status_code == 400
    settings.CDR_INGEST = {**settings.CDR_INGEST, "SIGNATURE_V1_UNTIL": "off"}
    assert client.post("/ingest/v1/events", body, content_type="application/json", headers=v1).status_code == 401
    after = _v1_count(client, "gw-v1", "false"), _v1_count(client, "gw-v1", "true")
    assert (after[0] - before[0], after[1] - before[1]) == (2, 1)


def test_a_directory_wiped_while_it_is_read_is_listed_again(tmp_path, monkeypatch):
    """A worker that starts empties its metrics directory (docker-compose.yml) while the web may be
    reading it: a file listed and gone before it is opened is no 500 (the deployed test met it)."""
    from prometheus_client.multiprocess import MultiProcessCollector

    from project.metrics import FilesCollector

    (tmp_path / "counter_1.db").write_bytes(b"")
    real_merge = MultiProcessCollector.merge
    calls = []

    def merge(files, accumulate=True):
        calls.append(list(files))
        if len(calls) == 1:  # the worker's rm -rf lands between the listing and the reading
            (tmp_path / "counter_1.db").unlink()
            raise FileNotFoundError(files[0])
        return real_merge(files, accumulate=accumulate)

    monkeypatch.setattr(MultiProcessCollector, "merge", staticmethod(merge))
    assert list(FilesCollector([tmp_path]).collect()) == []
    assert calls == [[str(tmp_path / "counter_1.db")], []]
