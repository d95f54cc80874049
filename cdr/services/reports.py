"""Reports read fresh: bring the rollups and the range's peak slots up to date, then read them."""

from __future__ import annotations

from typing import Any

from cdr.db.replicas import primary_reads
from cdr.selectors.reports import ReportQuery, report_edges, report_summary
from cdr.services.peaks import report_peaks_refresh
from cdr.services.rollups import rollups_catch_up


def report_summary_fresh(q: ReportQuery) -> dict[str, Any]:
    """``report_summary`` after a bounded catch-up, so a report is exact unless ingestion is far ahead.

    Legs written since the periodic catch-up last ran get one bounded round here (then the
    summary's ``pending_legs`` says how many are still out), and the range's dirty peak slots are
    recomputed. Raises ``BucketError`` for a range that cannot be bucketed, before any write.
    """
    edges = [at for _, at in report_edges(q)]
    with primary_reads():  # the catch-up writes from what it reads: never from a replica
        rollups_catch_up(max_rounds=1)
        report_peaks_refresh(tenant_id=q.tenant_id, lo=edges[0], hi=edges[-1])
    return report_summary(q)
