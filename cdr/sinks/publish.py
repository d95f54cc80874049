"""How the sink's background thread hands a batch to Celery.

Publishing happens only on that thread, never on a gateway thread: every call here either
returns after a bounded time or raises (``cdr.dispatch.BrokerSender``); the sink spools the
batch when it raises. Whether a batch is committed is read through
``cdr.selectors.gateway_batches.committed_batches``.
"""

from __future__ import annotations

import threading
from typing import Any

from django.db import close_old_connections, connections

from cdr import dispatch
from cdr.conf import cdr_setting
from cdr.selectors.gateway_batches import committed_batches
from cdr.sinks.protocols import Publisher

TASK_NAME = dispatch.EVENTS_INGEST


def _close_db_connections() -> None:
    """Close the sink thread's own database connections when it stops.

    Not on the main thread: there the connection belongs to the application (or a test's
    transaction), which closes it itself.
    """
    if threading.current_thread() is not threading.main_thread():
        connections.close_all()


class CeleryPublisher(dispatch.BrokerSender):
    """Sends ``cdr.events_ingest`` through the broker with short, hard timeouts."""

    def publish(self, events: list[dict[str, Any]], batch_id: str, *, source: str = "sink") -> None:
        try:
            self.send(
                TASK_NAME,
                args=[events],
                kwargs={"source": source, "batch_id": batch_id},
                # What logs and monitors show of the task; left to Celery, it is a saferepr walk of
                # the whole batch on every publish (a quarter of a publish's time).
                argsrepr=f"[<{len(events)} events>]",
                kwargsrepr=f"{{'source': {source!r}, 'batch_id': {batch_id!r}}}",
            )
        except BaseException:
            self.close()  # a half-broken connection is not reused
            raise

    def confirmed(self, batch_ids: list[str]) -> set[str]:
        return committed_batches(batch_ids)

    def close(self) -> None:
        self.release_broker()
        _close_db_connections()


class EagerPublisher:
    """Embedded default (no broker): run the same task in this process, on this thread."""

    def publish(self, events: list[dict[str, Any]], batch_id: str, *, source: str = "sink") -> None:
        try:
            dispatch.run_here(TASK_NAME, args=[events], kwargs={"source": source, "batch_id": batch_id})
        finally:
            close_old_connections()

    def confirmed(self, batch_ids: list[str]) -> set[str]:
        return committed_batches(batch_ids)

    def close(self) -> None:
        _close_db_connections()


def publisher_from_settings() -> Publisher:

    app = dispatch.celery_app()  # the project's app, loaded with Django
    if app.conf.task_always_eager:
        return EagerPublisher()
    return CeleryPublisher(app, timeout=cdr_setting("CDR_LIFECYCLE_SINK")["PUBLISH_TIMEOUT"])
