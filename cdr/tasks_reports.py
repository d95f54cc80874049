"""Report upkeep tasks: thin wrappers over ``cdr.services.peaks`` and ``cdr.services.rollups``."""

from __future__ import annotations

from celery import shared_task

from cdr.services.peaks import report_peaks_refresh as _refresh
from cdr.services.rollups import rollups_catch_up as _catch_up


@shared_task(name="cdr.report_peaks_refresh", acks_late=True, soft_time_limit=120, time_limit=150)
def report_peaks_refresh() -> int:
    """Recompute a bounded number of dirty peak slots, so readers rarely find many. Idempotent."""
    return _refresh()


@shared_task(name="cdr.rollups_catch_up", acks_late=True, soft_time_limit=120, time_limit=150)
def rollups_catch_up() -> int:
    """Apply the legs written since the last run to the report rollups. Idempotent."""
    return _catch_up()
