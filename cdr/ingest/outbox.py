"""Make a request's accepted events durable, then have a worker store them.

Broker mode: the events are queued in the database (``GatewayBatch``) by the transaction that
remembers their ids, and ``cdr.gateway_batches_drain`` is nudged after the commit. The answer
does not wait for the broker: while it is down the events wait in the table, and the drain's
beat schedule (and the next nudge) stores them once it is back. Eager mode (no broker): stored
right away, in the same transaction.
"""

from __future__ import annotations

import json
import logging
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


def drain_nudge() -> None:
    """Have a worker drain the queue soon; if the broker is down, its beat schedule will."""
    try:
        _publisher().nudge()
    except Exception as exc:  # the events are safe in the table: the beat schedule drains them
        log.info("could not nudge %s (%s): queued events wait for its schedule", DRAIN_TASK, exc)


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
