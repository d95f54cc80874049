"""Report upkeep tasks: thin wrappers over ``cdr.services.peaks`` and ``cdr.services.rollups``."""

from __future__ import annotations

from celery import shared_task

from cdr.services.peaks import report_peaks_refresh as _refresh
from cdr.services.rollups import rollups_catch_up as _catch_up
from cdr.tasks.options import UPKEEP_TASK


@shared_task(name="cdr.report_peaks_refresh", **UPKEEP_TASK)
def report_peaks_refresh() -> int:
    """Recompute a bounded number of dirty peak slots, so readers rarely find many. Idempotent."""
    return _refresh()


@shared_task(name="cdr.rollups_catch_up", **UPKEEP_TASK)
def rollups_catch_up() -> int:
    """Apply the legs written since the last run to the report rollups. Idempotent."""
    return _catch_up()
