"""Record retention: the periodic ``cdr.records_purge`` (a thin wrapper over the service)."""

from __future__ import annotations

from celery import shared_task

from cdr.services.records_retention import records_purge as _purge


# Idempotent and resumable (each batch commits on its own): a run cut short by the time limit
# leaves committed batches and the next beat continues. Under the broker's visibility timeout.
@shared_task(name="cdr.records_purge", acks_late=True, soft_time_limit=240, time_limit=280)
def records_purge() -> int:
    """Delete expired call records of every tenant with a record retention; returns the calls deleted."""
    return sum(run.calls for run in _purge())
