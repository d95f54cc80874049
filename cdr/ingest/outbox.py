"""Make a request's accepted events durable, then have a worker store them.

Broker mode: the events are queued in the database (``GatewayBatch``) by the transaction that
remembers their ids, and ``cdr.gateway_batches_drain`` is nudged after the commit, by a
background thread: the answer never waits for the broker. While it is down the events wait in
the table, and the drain's beat schedule (and the next nudge) stores them once it is back.
Eager mode (no broker): stored right away, in the same transaction.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from typing import Any

import orjson
from django.db import transaction

from cdr.sinks.publish import CeleryPublisher

SOURCE = "http"
DRAIN_TASK = "cdr.gateway_batches_drain"
log = logging.getLogger("cdr.ingest")
_local = threading.local()


class IngestUnavailable(Exception):
    """The database (or, in eager mode, the store) did not take the batch."""


class _RequestPublisher(CeleryPublisher):
    def close(self) -> None:
        # Unlike the sink's thread, a request thread keeps its database connection: only the
        # broker connection is dropped.
        self.release_broker()

    def nudge(self) -> None:
        try:
            self.app.send_task(DRAIN_TASK, queue=self.queue, producer=self._ensure(), retry=False)
        except BaseException:
            self.close()
            raise


def _publisher() -> _RequestPublisher:
    """One broker connection per request thread, kept between requests (for its broker URL)."""
    from celery import current_app
    from django.conf import settings

    app = current_app._get_current_object()
    publisher = getattr(_local, "publisher", None)
    if publisher is None or getattr(_local, "broker_url", None) != app.conf.broker_url:
        publisher = _local.publisher = _RequestPublisher(app, timeout=settings.CDR_LIFECYCLE_SINK["PUBLISH_TIMEOUT"])
        _local.broker_url = app.conf.broker_url
    return publisher


def _nudge_now() -> None:
    try:
        _publisher().nudge()
    except Exception as exc:  # the events are safe in the table: the beat schedule drains them
        log.info("could not nudge %s (%s): queued events wait for its schedule", DRAIN_TASK, exc)


class _Nudger:
    """One thread per process sends the nudges, so no request waits for the broker: a frozen
    Redis holds a publish for its whole timeout. Requests that commit while a nudge is on its
    way share the next one (a drain takes everything queued anyway)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def request(self) -> None:
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()  # a forked server process starts its own
                self._thread = threading.Thread(target=self._run, name="cdr-drain-nudge", daemon=True)
                self._thread.start()
            self._idle.clear()
            self._wanted.set()

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            _nudge_now()
            with self._lock:
                if not self._wanted.is_set():
                    self._idle.set()

    def wait(self, timeout: float) -> bool:
        return self._idle.wait(timeout)


_nudger = _Nudger()


def drain_nudge() -> None:
    """Have a worker drain the queue soon (sent by a background thread; never blocks the caller).
    If the broker is down, the drain's beat schedule stores the events."""
    _nudger.request()


def drain_nudges_wait(timeout: float = 5.0) -> bool:
    """Wait until the nudges asked for so far were sent (or failed); False on timeout. For tests."""
    return _nudger.wait(timeout)


def _dumps(events: list[dict[str, Any]]) -> str:
    try:
        return orjson.dumps(events).decode()
    except TypeError:  # what orjson refuses in fields the store ignores (an int past 64 bits, ...)
        return json.dumps(events)


def events_load(text: str) -> list[dict[str, Any]]:
    try:
        return list(orjson.loads(text))
    except orjson.JSONDecodeError:  # json.dumps's escapes orjson refuses (an unpaired surrogate)
        return list(json.loads(text))


def events_enqueue(*, events: list[dict[str, Any]], batch_id: str, gateway_id: int) -> None:
    """Inside the caller's transaction: queue (or, eager, store) one request's accepted events."""
    from celery import current_app

    from cdr.models import GatewayBatch

    try:
        if current_app.conf.task_always_eager:
            from cdr.services.events import events_ingest

            events_ingest(events=events, source=SOURCE, batch_id=batch_id)
            return
        from django.utils import timezone

        GatewayBatch.objects.create(
            batch_id=batch_id,
            gateway_id=gateway_id,
            events=_dumps(events),
            event_count=len(events),
            received_at=timezone.now(),
        )
    except Exception as exc:
        raise IngestUnavailable(f"{type(exc).__name__}: {exc}"[:300]) from exc
    transaction.on_commit(drain_nudge)  # at once when there is no transaction
