"""Celery tasks: thin, JSON in, one service call, idempotent (safe to run twice)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from cdr import services
from cdr.queries import DATABASE_UNREACHABLE
from cdr.tasks_recordings import (  # noqa: F401  (registers the recording tasks with Celery)
    recording_transcode,
    recording_upload,
    recordings_purge,
    recordings_resume,
)
from cdr.tasks_reports import report_peaks_refresh  # noqa: F401  (registers the report tasks)

# Only errors that another attempt can fix; a bad event is rejected by the service, not retried.
TRANSIENT = DATABASE_UNREACHABLE
# Tasks that store events: acknowledged after they commit, redelivered if the worker dies, and
# retried with backoff while the database is unreachable.
STORE_TASK = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": TRANSIENT,
    "retry_backoff": 1,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 20,
}


@shared_task(name="cdr.events_ingest", soft_time_limit=60, time_limit=90, **STORE_TASK)
def events_ingest(events: list[dict[str, Any]], source: str = "sink", batch_id: str | None = None) -> dict[str, int]:
    result = services.events_ingest(events=events, source=source, batch_id=batch_id)
    return {"accepted": result.accepted, "duplicate": result.duplicate, "rejected": result.rejected}


@shared_task(name="cdr.gateway_batches_drain", soft_time_limit=240, time_limit=270, **STORE_TASK)
def gateway_batches_drain() -> int:
    """Nudged by each accepted HTTP request, and on a schedule; idempotent (an empty queue is one query)."""
    from cdr.ingest.drain import gateway_batches_drain as drain

    return drain()


@shared_task(name="cdr.calls_expire", acks_late=True, soft_time_limit=120, time_limit=150)
def calls_expire() -> int:
    return services.calls_expire()


@shared_task(name="cdr.batches_purge", acks_late=True, soft_time_limit=120, time_limit=150)
def batches_purge() -> int:
    return services.batches_purge()


@shared_task(name="cdr.gateway_events_purge", acks_late=True, soft_time_limit=120, time_limit=150)
def gateway_events_purge() -> int:
    from cdr.ingest.events import gateway_events_purge as purge

    return purge()
