"""Bodies sent with Transfer-Encoding: chunked (Go's net/http for a reader of unknown length), against
real servers: gunicorn de-chunks them and they are read, capped as any body; Django's runserver cannot,
and answers 411 naming Content-Length (never a signature error) and closes the connection, so the
unread chunks are never taken for the next request."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from cdr.ingest.signing import signed_headers
from cdr.models import Call, Recording
from cdr.services.gateways import gateway_create
from tests.support.audio import conversation
from tests.support.factories import call, event
from tests.support.processes import ROOT, free_port, wait_port

pytestmark = pytest.mark.django_db(transaction=True)

MAX_BODY = 64 << 10
MAX_RECORDING = 256 << 10
BLOB = conversation(seed=3).blob
SERVERS = {
    "gunicorn": ["-m", "gunicorn", "project.wsgi", "-w", "1", "--threads", "2", "--log-level", "warning", "-b"],
    "runserver": ["manage.py", "runserver", "--noreload"],
}


@pytest.fixture(params=list(SERVERS))
def server(request, transactional_db, tmp_path) -> Iterator[tuple[str, int]]:
    """One per test: the server's caches (known tenants) must not outlive the test's database rows."""
    db = settings.DATABASES["default"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "CDR_", "DATABASE_URL"))}
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        CDR_VAR_DIR=str(tmp_path),
        # The test process's key: the gateway's secret is stored encrypted with a key derived from it.
        DJANGO_SECRET_KEY=settings.SECRET_KEY,
        CDR_INGEST_MAX_BODY_BYTES=str(MAX_BODY),
        CDR_INGEST_MAX_RECORDING_BYTES=str(MAX_RECORDING),
        DJANGO_LOG_LEVEL="ERROR",
    )
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, *SERVERS[request.param], f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port, timeout=60)
        yield request.param, port
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def gateway():
    return gateway_create(name="chunky", tenant_ids=[7])


def pieces(body: bytes, size: int = 1000) -> Iterator[bytes]:
    """An iterable body: http.client sends it chunked, without a Content-Length."""
    return (body[i : i + size] for i in range(0, len(body), size))


def post(conn, gateway, path: str, body: bytes, *, chunked: bool, content_type: str, **headers: str) -> Any:
    sent = {"Content-Type": content_type, **headers}
    signed = signed_headers(gateway.gateway.key_id, gateway.secret, "POST", path, body, headers=sent)
    conn.request("POST", path, body=pieces(body) if chunked else body, headers=signed, encode_chunked=chunked)
    response = conn.getresponse()
    raw = response.read()
    try:
        return response, json.loads(raw or b"null")
    except ValueError:
        return response, raw


def events(conn, gateway, batch: list[dict], *, chunked: bool) -> Any:
    return post(
        conn, gateway, "/ingest/v1/events", json.dumps(batch).encode(), chunked=chunked, content_type="application/json"
    )


def recording(conn, gateway, call_id: str, blob: bytes, *, chunked: bool) -> Any:
    headers = {
        "X-CDR-Tenant-Id": "7",
        "X-CDR-Codec": "pcmu",
        "X-CDR-Sample-Rate": "8000",
        "X-CDR-Channels": "1",
        "X-CDR-Content-SHA256": hashlib.sha256(blob).hexdigest(),
    }
    path = f"/ingest/v1/recordings/{call_id}"
    return post(conn, gateway, path, blob, chunked=chunked, content_type="application/octet-stream", **headers)


def ringing(call_id: str, pad: int = 0) -> list[dict]:
    return [dict(event("ringing", 0, call(call_id, tenant_id=7, remote_addr="x" * pad)), event_id=call_id)]


def test_a_chunked_event_batch_is_read_or_refused_411_and_the_connection_stays_usable(server, gateway):
    kind, port = server
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    response, body = events(conn, gateway, ringing("ch-1@gw"), chunked=True)
    if kind == "gunicorn":
        assert response.status == 200, body
        assert body["results"][0]["status"] == "accepted"
        assert Call.objects.filter(call_id="ch-1@gw").exists()
        assert not response.will_close  # keep-alive: the next request goes on the same socket
    else:
        assert response.status == 411 and "Content-Length" in body["Content-Length"], body
        assert response.will_close  # the unread chunks go with the connection
    sock = conn.sock
    response, body = events(conn, gateway, ringing("ch-2@gw"), chunked=False)
    assert response.status == 200 and body["accepted"] == 1, body
    assert kind != "gunicorn" or conn.sock is sock


def test_a_chunked_recording_is_read_or_refused_411_and_the_connection_stays_usable(server, gateway):
    kind, port = server
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    response, body = recording(conn, gateway, "rec-1@gw", BLOB, chunked=True)
    if kind == "gunicorn":
        assert response.status == 201, body
        row = Recording.objects.get(call_id="rec-1@gw")
        assert (body["recording_id"], body["bytes"], row.bytes) == (row.pk, len(BLOB), len(BLOB))
        assert body["sha256"] == hashlib.sha256(BLOB).hexdigest()
    else:
        assert response.status == 411 and "Content-Length" in body["Content-Length"], body
    response, body = recording(conn, gateway, "rec-2@gw", BLOB, chunked=False)
    assert response.status == 201, body


def test_the_body_caps_hold_for_chunked_bodies(server, gateway):
    kind, port = server
    if kind != "gunicorn":
        pytest.skip("runserver refuses chunked bodies before reading them")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    response, body = events(conn, gateway, ringing("big@gw", pad=MAX_BODY), chunked=True)
    assert response.status == 413, body
    response, body = recording(conn, gateway, "big@gw", b"\1" * (MAX_RECORDING + 1), chunked=True)
    assert response.status == 413 and body["body"] == f"body: more than the {MAX_RECORDING} bytes allowed", body
    assert not Call.objects.exists() and not Recording.objects.exists()
    response, body = events(conn, gateway, ringing("small@gw"), chunked=True)
    assert response.status == 200 and body["accepted"] == 1, body
