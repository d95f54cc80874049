"""Hand accepted events to the ``cdr.events_ingest`` task, the in-process sink's path.

Returns only once the batch is durable: in the broker (published), or stored (eager mode, no
broker). Raises IngestUnavailable otherwise, so the caller answers 503 and keeps nothing.
"""

from __future__ import annotations

import threading
from typing import Any

from cdr.sinks.publish import CeleryPublisher

SOURCE = "http"
_local = threading.local()


class IngestUnavailable(Exception):
    """The broker (or, in eager mode, the store) did not take the batch."""


class _RequestPublisher(CeleryPublisher):
    def close(self) -> None:
        # Unlike the sink's thread, a request thread is inside the transaction that remembers
        # the event ids: only the broker connection is dropped, never the database's.
        self.release_broker()


def events_publish(*, events: list[dict[str, Any]], batch_id: str) -> None:
    from celery import current_app
    from django.conf import settings

    app = current_app._get_current_object()
    try:
        if app.conf.task_always_eager:
            from cdr.tasks import events_ingest

            events_ingest.apply(args=[events], kwargs={"source": SOURCE, "batch_id": batch_id}, throw=True)
            return
        # One broker connection per request thread, kept between requests (for its broker URL).
        publisher = getattr(_local, "publisher", None)
        if publisher is None or getattr(_local, "broker_url", None) != app.conf.broker_url:
            timeout = settings.CDR_LIFECYCLE_SINK["PUBLISH_TIMEOUT"]
            publisher = _local.publisher = _RequestPublisher(app, timeout=timeout)
            _local.broker_url = app.conf.broker_url
        publisher.publish(events, batch_id, source=SOURCE)
    except Exception as exc:
        raise IngestUnavailable(f"{type(exc).__name__}: {exc}"[:300]) from exc
