"""Event tasks: the one write path for lifecycle events, and the upkeep of the event log."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from cdr import services
from cdr.tasks.options import STORE_TASK, UPKEEP_TASK


@shared_task(name="cdr.events_ingest", soft_time_limit=60, time_limit=90, **STORE_TASK)
def events_ingest(events: list[dict[str, Any]], source: str = "sink", batch_id: str | None = None) -> dict[str, int]:
    result = services.events_ingest(events=events, source=source, batch_id=batch_id)
    return {"accepted": result.accepted, "duplicate": result.duplicate, "rejected": result.rejected}


@shared_task(name="cdr.calls_expire", **UPKEEP_TASK)
def calls_expire() -> int:
    return services.calls_expire()


@shared_task(name="cdr.batches_purge", **UPKEEP_TASK)
def batches_purge() -> int:
    return services.batches_purge()
