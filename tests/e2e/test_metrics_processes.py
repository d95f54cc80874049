"""/metrics as deployed: gunicorn with two workers and a Celery prefork worker with two children each
keep their counters in their service's PROMETHEUS_MULTIPROC_DIR; one scrape of the web adds them up,
exactly. Production settings (DJANGO_DEBUG=0, DJANGO_HTTPS=1): the scraper and the probes come by
pod IP over plain HTTP and are answered; anything else by that Host is still refused."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from pathlib import Path

import pytest
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from cdr.ingest.signing import signed_headers
from cdr.services.gateways import gateway_create
from tests.support.factories import bye, call, event
from tests.support.gunicorn import gunicorn, production_env
from tests.support.processes import Worker

pytestmark = pytest.mark.e2e
TOKEN = "scrape-token-0123456789abcdef"
POD = "10.1.2.3:8000"  # the Host a kubelet or a scraper sends: the pod's address
REQUESTS = 8


def _stale_counter(directory: Path) -> None:
    """A previous run's file in the web's directory: summed in if the start did not empty it."""
    directory.mkdir(parents=True)
    names = ["path", "outcome", "reason"]
    key = mmap_key("cdr_ingest_events", "cdr_ingest_events_total", names, ["http", "accepted", ""], "stale")
    stale = MmapedDict(str(directory / "counter_4242.db"))
    stale.write_value(key, 1000.0, 0.0)
    stale.close()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _request(base: str, method: str, path: str, headers: dict[str, str], body: bytes | None = None):
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def _batch(n: int) -> list[dict]:
    """Two new events, one malformed, one for a tenant the gateway may not report: 2 accepted, 2 rejected."""
    c = call(f"m{n}@gw")
    return [
        dict(event("ringing", 0, c), event_id=f"{n}-0"),
        dict(bye(5, 5, c), event_id=f"{n}-1"),
        {"type": "no_such_event", "event_id": f"{n}-2"},
        dict(event("ringing", 0, call(f"x{n}@gw", tenant_id=8)), event_id=f"{n}-3"),
    ]


def test_counters_add_up_across_gunicorn_workers_and_celery_children(
    redis_server, broker_app, worker_env, settings, tmp_path
):
    web_dir, worker_dir = tmp_path / "metrics" / "web", tmp_path / "metrics" / "worker"
    _stale_counter(web_dir)
    worker_dir.mkdir(parents=True)
    worker = Worker(worker_env | {"PROMETHEUS_MULTIPROC_DIR": str(worker_dir)}, concurrency=2)
    worker.start()
    issued = gateway_create(name="edge-metrics", tenant_ids=[7])
    env = production_env(
        tmp_path / "web",
        DJANGO_HTTPS="1",
        DJANGO_ALLOWED_HOSTS="cdr.example",
        DJANGO_SECRET_KEY=settings.SECRET_KEY,  # the gateway's secret is encrypted with it
        DATABASE_URL=worker_env["DATABASE_URL"],
        CELERY_BROKER_URL=redis_server.url,
        CDR_METRICS_TOKEN=TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(web_dir),
        CDR_METRICS_DIRS=str(worker_dir),
    )
    try:
        with gunicorn(env, tmp_path / "gunicorn.log", workers=2) as server:

            def post(n: int) -> dict:
                body = json.dumps(_batch(n)).encode()
                headers = signed_headers(
                    issued.gateway.key_id,
                    issued.secret,
                    "POST",
                    "/ingest/v1/events",
                    body,
                    headers={"Content-Type": "application/json"},
                )
                headers |= {"Host": "cdr.example", "X-Forwarded-Proto": "https"}
                status, _, answer = _request(server.url, "POST", "/ingest/v1/events", headers, body)
                assert status == 200, answer
                return json.loads(answer)

            # Both sync workers must answer: the first post's body is held back, so the worker that
            # took it waits for it, and the other takes the posts that follow; then it is finished.
            held_body = json.dumps(_batch(0)).encode()
            held_headers = signed_headers(
                issued.gateway.key_id,
                issued.secret,
                "POST",
                "/ingest/v1/events",
                held_body,
                headers={"Content-Type": "application/json"},
            )
            held_headers |= {"Host": "cdr.example", "X-Forwarded-Proto": "https", "Connection": "close"}
            held_headers["Content-Length"] = str(len(held_body))
            host, port = server.url.removeprefix("http://").split(":")
            held = socket.create_connection((host, int(port)), timeout=30)
            head = "POST /ingest/v1/events HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in held_headers.items())
            held.sendall((head + "\r\n").encode() + held_body[:10])
            time.sleep(1.0)  # let a worker accept it (no assertion on time: the counts below decide)

            answers: list[dict] = []
            threads = [
                threading.Thread(target=lambda k=k: answers.extend(post(n) for n in range(1 + k, REQUESTS, 4)))
                for k in range(4)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            held.sendall(held_body[10:])
            reply = b""
            while chunk := held.recv(65536):
                reply += chunk
            held.close()
            status_line, _, rest = reply.partition(b"\r\n")
            assert b" 200 " in status_line, reply[:300]
            answers.append(json.loads(rest.partition(b"\r\n\r\n")[2]))
            assert len(answers) == REQUESTS
            again = post(0)  # a re-post: its two events are duplicates, the refusals are refused again
            assert (again["accepted"], again["duplicate"], again["rejected"]) == (0, 2, 2)

            # The sink's path: batches straight to the store, one task each; one task that fails.
            for k in range(3):
                c = call(f"s{k}@gw")
                events = [event("ringing", 0, c), bye(5, 5, c), {"type": "no_such_event"}]
                broker_app.send_task("cdr.events_ingest", args=[events], kwargs={"source": "sink", "batch_id": f"s{k}"})
            broker_app.send_task("cdr.events_ingest", args=[], kwargs={"no_such_argument": 1})

            auth = {"Authorization": f"Bearer {TOKEN}", "Host": POD}  # plain HTTP, by pod IP
            deadline = time.monotonic() + 60
            while True:
                status, headers, body = _request(server.url, "GET", "/metrics", auth)
                assert status == 200, body[:500]
                samples = _samples(body.decode())
                done = _value(samples, "cdr_task_duration_seconds_count", task="cdr.events_ingest") == 4
                stored = _value(samples, "cdr_ingest_events_total", path="http_store", outcome="accepted", reason="")
                if done and stored == 2 * REQUESTS and _value(samples, "cdr_http_events_queued") == 0:
                    break
                assert time.monotonic() < deadline, "the worker did not finish: see worker.log"
                time.sleep(0.2)

            def ingest(path: str, outcome: str, reason: str = "") -> float:
                return _value(samples, "cdr_ingest_events_total", path=path, outcome=outcome, reason=reason)

            # The edge's answers, summed over both gunicorn workers; the stale file was removed.
            assert ingest("http", "accepted") == 2 * REQUESTS
            assert ingest("http", "duplicate") == 2
            assert ingest("http", "rejected", "invalid") == REQUESTS + 1
            assert ingest("http", "rejected", "tenant") == REQUESTS + 1
            assert ingest("http", "rejected", "conflict") == 0
            # What the worker's children stored: the edge's accepted events once, and the sink's batches.
            assert ingest("http_store", "accepted") == 2 * REQUESTS
            assert ingest("http_store", "rejected", "invalid") == 0
            assert ingest("sink", "accepted") == 6
            assert ingest("sink", "rejected", "invalid") == 3
            assert _value(samples, "cdr_tasks_total", task="cdr.events_ingest", outcome="success") == 3
            assert _value(samples, "cdr_tasks_total", task="cdr.events_ingest", outcome="failure") == 1
            assert _value(samples, "cdr_tasks_total", task="cdr.events_ingest", outcome="retry") == 0
            drains = _value(samples, "cdr_tasks_total", task="cdr.gateway_batches_drain", outcome="success")
            assert drains >= 1
            assert _value(samples, "cdr_task_duration_seconds_count", task="cdr.gateway_batches_drain") == drains
            assert _value(samples, "cdr_http_batches_queued") == 0
            # No tenant, Call-ID or gateway in any label.
            text = body.decode()
            assert "m0@gw" not in text and "edge-metrics" not in text and "tenant_id" not in text

            # Both gunicorn workers answered ingestion requests and counted in files of their own.
            per_worker = [
                sum(
                    s.value
                    for family in MultiProcessCollector.merge([str(f)])
                    for s in family.samples
                    if s.name == "cdr_ingest_events_total" and s.labels["path"] == "http"
                )
                for f in web_dir.glob("counter_*.db")
            ]
            assert sorted(v > 0 for v in per_worker) == [True, True], per_worker
            assert sum(per_worker) == 4 * REQUESTS + 4

            # The probes too, by pod IP over plain HTTP; every other path by that Host is refused,
            # and by the site's name over plain HTTP is sent to HTTPS.
            assert _request(server.url, "GET", "/healthz", {"Host": POD})[0] == 200
            status, _, body = _request(server.url, "GET", "/readyz", {"Host": POD})
            assert (status, json.loads(body)["checks"]) == (200, {"database": "ok", "broker": "ok", "recordings": "ok"})
            assert _request(server.url, "GET", "/metrics", {"Host": POD})[0] == 401
            assert _request(server.url, "GET", "/metrics", {"Host": POD, "Authorization": "Bearer nope"})[0] == 403
            assert _request(server.url, "GET", "/admin/login/", {"Host": POD})[0] == 400  # DisallowedHost
            status, headers, _ = _request(server.url, "GET", "/admin/login/", {"Host": "cdr.example"})
            assert (status, headers["Location"]) == (301, "https://cdr.example/admin/login/")
    finally:
        worker.stop()
