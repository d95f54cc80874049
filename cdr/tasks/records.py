"""Record retention: the periodic ``cdr.records_purge`` (a thin wrapper over the service)."""

from __future__ import annotations

from celery import shared_task

from cdr.services.partitions import event_partitions_ensure as _partitions_ensure
from cdr.services.records_retention import records_purge as _purge


# Idempotent and resumable (each batch commits on its own): a run cut short by the time limit
# leaves committed batches and the next beat continues. Under the broker's visibility timeout.
@shared_task(name="cdr.records_purge", acks_late=True, soft_time_limit=240, time_limit=280)
def records_purge() -> int:
    """Delete expired call records of every tenant with a record retention; returns the calls deleted."""
    return sum(run.calls for run in _purge())


@shared_task(name="cdr.event_partitions_ensure", acks_late=True, soft_time_limit=240, time_limit=280)
def event_partitions_ensure() -> list[str]:
    """Create the event log's partitions of this month and the next ones (PostgreSQL; idempotent)."""
    return _partitions_ensure()
