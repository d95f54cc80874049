"""How the sink's background thread hands a batch to Celery.

Publishing happens only on that thread, never on a gateway thread: a Redis that is down takes
~0.6 s to fail and a frozen one blocks forever without socket timeouts
(docs/reference/measured-limits.md). Every call here either returns after a bounded time or
raises; the sink spools the batch when it raises.
"""

from __future__ import annotations

from typing import Any, Protocol

TASK_NAME = "cdr.events_ingest"


class Publisher(Protocol):
    def publish(self, events: list[dict[str, Any]], batch_id: str, *, source: str = "sink") -> None:
        """Hand the batch to the broker (durably, as far as the broker goes), or raise."""

    def confirmed(self, batch_ids: list[str]) -> set[str]:
        """Which of these batches the store has committed."""

    def close(self) -> None: ...


def _close_db_connections() -> None:
    """Close the sink thread's own database connections when it stops.

    Not on the main thread: there the connection belongs to the application (or a test's
    transaction), which closes it itself.
    """
    import threading

    from django.db import connections

    if threading.current_thread() is not threading.main_thread():
        connections.close_all()


def committed_batches(batch_ids: list[str]) -> set[str]:
    """Ask the database which batches are committed (the worker records each in its transaction)."""
    from django.db import close_old_connections

    from cdr.models import IngestedBatch

    try:
        return set(IngestedBatch.objects.filter(batch_id__in=batch_ids).values_list("batch_id", flat=True))
    finally:
        close_old_connections()


class CeleryPublisher:
    """Sends ``cdr.events_ingest`` through the broker with short, hard timeouts."""

    def __init__(self, app: Any, *, timeout: float = 0.5, queue: str | None = None) -> None:
        self.app = app
        self.timeout = timeout
        self.queue = queue or app.conf.task_default_queue
        self._connection: Any = None
        self._producer: Any = None

    def _ensure(self) -> Any:
        if self._producer is None:
            options = dict(self.app.conf.broker_transport_options or {})
            options.update(
                socket_timeout=self.timeout,
                socket_connect_timeout=self.timeout,
                max_retries=0,
            )
            self._connection = self.app.connection_for_write(transport_options=options, connect_timeout=self.timeout)
            self._connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=self.timeout)
            self._producer = self._connection.Producer(serializer="json")
        return self._producer

    def publish(self, events: list[dict[str, Any]], batch_id: str, *, source: str = "sink") -> None:
        try:
            producer = self._ensure()
            self.app.send_task(
                TASK_NAME,
                args=[events],
                kwargs={"source": source, "batch_id": batch_id},
                queue=self.queue,
                producer=producer,
                retry=False,
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

    def release_broker(self) -> None:
        connection, self._connection, self._producer = self._connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception:
                pass

    def close(self) -> None:
        self.release_broker()
        _close_db_connections()


class EagerPublisher:
    """Embedded default (no broker): run the same task in this process, on this thread."""

    def publish(self, events: list[dict[str, Any]], batch_id: str, *, source: str = "sink") -> None:
        from django.db import close_old_connections

        from cdr.tasks import events_ingest

        try:
            events_ingest.apply(args=[events], kwargs={"source": source, "batch_id": batch_id}, throw=True)
        finally:
            close_old_connections()

    def confirmed(self, batch_ids: list[str]) -> set[str]:
        return committed_batches(batch_ids)

    def close(self) -> None:
        _close_db_connections()


def publisher_from_settings() -> Publisher:
    from celery import current_app
    from django.conf import settings

    app = current_app._get_current_object()  # the project's app, loaded with Django
    if app.conf.task_always_eager:
        return EagerPublisher()
    return CeleryPublisher(app, timeout=settings.CDR_LIFECYCLE_SINK["PUBLISH_TIMEOUT"])
