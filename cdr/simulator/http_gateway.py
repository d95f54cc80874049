"""The simulator's gateway in another process: a LifecycleSink that posts its hook calls over HTTP.

What the Go gateway does with the HTTP ingestion API, in Python: each hook call becomes one wire
event (``encode_hook_call``) with its own ``event_id``, and a background thread posts them in
signed batches to ``POST /ingest/v1/events``. The demo (``make run``) runs one beside the
in-process sink, so both ingestion paths feed the admin; tests drive it against a live server.

A hook call only appends to a list (no I/O on the caller's thread). A batch the server could not
take (not listening yet, 503 while its database is down, 408, 429) is posted again, unchanged,
until it does: the event ids make a re-post harmless. One it refuses (401 bad credentials, 413,
...) would be refused again: it is dropped and counted, with the server's reason in ``stats()``.
Pure Python, standard library only.
"""

from __future__ import annotations

import http.client
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from cdr.hooks import CallMeta, HangupMeta, RecordingArtifact
from cdr.ingest.signing import signed_headers
from cdr.lifecycle.encode import encode_hook_call
from cdr.lifecycle.labels import LabelBook

EVENTS_PATH = "/ingest/v1/events"


class HttpGateway:
    """A LifecycleSink posting to a cdr server at ``url`` as the gateway ``key_id``/``secret``."""

    def __init__(
        self,
        url: str,
        key_id: str,
        secret: str,
        *,
        flush_seconds: float = 0.2,
        batch_events: int = 500,
        retry_seconds: float = 1.0,
        timeout: float = 10.0,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        parts = urlsplit(url)
        self._clock = clock  # when a hook was observed (ns); a simulator passes simulated time
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url: expected http(s)://host[:port][/prefix], got {url!r}")
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._path = parts.path.rstrip("/") + EVENTS_PATH
        self._key_id, self._secret = key_id, secret
        self._flush_seconds, self._retry_seconds, self._timeout = flush_seconds, retry_seconds, timeout
        self._batch_events = min(batch_events, 1000)
        self._prefix, self._seq = uuid.uuid4().hex[:12], itertools.count()
        self._lock = threading.Lock()
        self._pending: list[dict[str, Any]] = []
        self._inflight = 0
        self._closed = threading.Event()
        self._wake = threading.Event()
        self._labels = LabelBook()
        self._stats = {"posted": 0, "accepted": 0, "duplicate": 0, "rejected": 0, "refused": 0, "retries": 0}
        self._last_error = ""
        self._thread = threading.Thread(target=self._run, name="cdr-http-gateway", daemon=True)
        self._thread.start()

    def set_labels(self, call_id: str, labels: Mapping[str, str]) -> None:
        """As ``CeleryLifecycleSink.set_labels``: the call's later hooks carry these labels."""
        self._labels.set(call_id, labels)

    # LifecycleSink
    def on_ringing(self, meta: CallMeta) -> None:
        self._add("on_ringing", (meta,))

    def on_established(self, meta: CallMeta) -> None:
        self._add("on_established", (meta,))

    def on_transfer_started(self, inbound: CallMeta, target_uri: str) -> None:
        self._add("on_transfer_started", (inbound, target_uri))

    def on_bridge_started(self, inbound_call_id: str, outbound_call_id: str) -> None:
        self._add("on_bridge_started", (inbound_call_id, outbound_call_id))

    def on_bye(self, meta: CallMeta, hangup: HangupMeta, recording: RecordingArtifact) -> None:
        self._add("on_bye", (meta, hangup, recording))

    def on_failed(self, meta: CallMeta, hangup: HangupMeta) -> None:
        self._add("on_failed", (meta, hangup))

    def _add(self, method: str, args: tuple[Any, ...]) -> None:
        labels = self._labels.get(getattr(args[0], "call_id", None))
        event = encode_hook_call(method, args, self._clock(), labels)
        event.pop("source", None)  # the server says where an event came from
        with self._lock:  # hook calls come from many threads
            event["event_id"] = f"{self._prefix}-{next(self._seq)}"
            self._pending.append(event)

    # Delivery
    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {**self._stats, "pending": len(self._pending) + self._inflight, "last_error": self._last_error}

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every hook call so far is answered by the server; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending and not self._inflight:
                    return True
            self._wake.set()
            time.sleep(0.02)
        return False

    def close(self, timeout: float = 30.0) -> bool:
        delivered = self.flush(timeout)
        self._closed.set()
        self._wake.set()
        self._thread.join(timeout=5)
        return delivered

    def _run(self) -> None:
        conn: http.client.HTTPConnection | None = None
        while not self._closed.is_set():
            self._wake.wait(self._flush_seconds)
            self._wake.clear()
            while True:
                with self._lock:
                    batch = self._pending[: self._batch_events]
                    del self._pending[: len(batch)]
                    self._inflight = len(batch)
                if not batch:
                    break
                while not self._closed.is_set():
                    conn, answer = self._post(conn, batch)
                    if answer is not None:
                        with self._lock:
                            self._stats["posted"] += len(batch)
                            for status in ("accepted", "duplicate", "rejected", "refused"):
                                self._stats[status] += answer.get(status, 0)
                            self._inflight = 0
                        break
                    with self._lock:
                        self._stats["retries"] += 1
                    self._closed.wait(self._retry_seconds)
                else:  # closed before the server answered: put the batch back for stats()
                    with self._lock:
                        self._pending[:0] = batch
                        self._inflight = 0
                    break
        if conn is not None:
            conn.close()

    def _post(
        self, conn: http.client.HTTPConnection | None, batch: list[dict[str, Any]]
    ) -> tuple[http.client.HTTPConnection | None, dict[str, Any] | None]:
        """One attempt: (the connection to keep, the server's answer or None to try again)."""
        body = json.dumps(batch, separators=(",", ":")).encode()
        headers = signed_headers(
            self._key_id, self._secret, "POST", self._path, body, headers={"Content-Type": "application/json"}
        )
        try:
            if conn is None:
                cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
                conn = cls(self._host, self._port, timeout=self._timeout)
            conn.request("POST", self._path, body, headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            if conn is not None:
                conn.close()
            with self._lock:
                self._last_error = f"{type(exc).__name__}: {exc}"
            return None, None
        if response.status == 200:
            return conn, json.loads(data)
        with self._lock:
            self._last_error = f"HTTP {response.status}: {data[:200].decode(errors='replace')}"
        if 400 <= response.status < 500 and response.status not in (408, 429):
            return conn, {"refused": len(batch)}  # the same batch would be refused again
        return conn, None
