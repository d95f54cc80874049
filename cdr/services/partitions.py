"""The event log's monthly partitions (PostgreSQL): created ahead, dropped once retention passed them.

``event_partitions_ensure`` (task ``cdr.event_partitions_ensure``) keeps this month and
``CDR_EVENT_PARTITIONS["MONTHS_AHEAD"]`` more created; rows that reached the default partition for
one of those months are moved into it as it is created. ``event_partitions_drop`` (called by record
retention, after every tenant's horizon is published) drops a month's partition instead of deleting
its rows one batch at a time, when:

- every tenant has a record retention and its published horizon (``records_purged_before``) is at
  or past the month's end, so every call in it is expired by every policy;
- no event in it belongs to a call under an active legal hold (it stays until the hold is released:
  the held call's events are not moved out);
- no event in it belongs to a stored call that retention keeps (started at or after its tenant's
  horizon: an event whose content names another start than the record's).

Other databases (SQLite) have no partitions: both are no-ops there.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from cdr.conf import cdr_setting
from cdr.db import partitions
from cdr.db.partitions import Month

log = logging.getLogger("cdr.partitions")


def _partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        return partitions.is_partitioned(cursor)


def _lock_timeout(cursor: Any) -> None:
    cursor.execute("SELECT set_config('lock_timeout', %s, true)", [cdr_setting("CDR_EVENT_PARTITIONS")["LOCK_TIMEOUT"]])


def event_partitions_ensure(*, now: datetime | None = None, ahead: int | None = None) -> list[str]:
    """Create the missing partitions of this month and the next ``ahead``; returns their names."""
    if not _partitioned():
        return []
    now = now or timezone.now()
    ahead = cdr_setting("CDR_EVENT_PARTITIONS")["MONTHS_AHEAD"] if ahead is None else ahead
    created = []
    with connection.cursor() as cursor:
        have = set(partitions.months(cursor))
        for month in (Month.of(now).shift(i) for i in range(ahead + 1)):
            if month in have:
                continue
            with transaction.atomic():
                _lock_timeout(cursor)
                moved = partitions.month_create(cursor, month)
            created.append(month.name)
            if moved:
                log.warning("moved %d events out of %s into %s", moved, partitions.DEFAULT, month.name)
    return created


def _held(cursor: Any, month: Month) -> str:
    cursor.execute(
        f"SELECT h.call_id FROM cdr_legalhold h WHERE h.released_at IS NULL "
        f"AND EXISTS (SELECT 1 FROM {month.name} e WHERE e.call_id = h.call_id) LIMIT 1"
    )
    row = cursor.fetchone()
    return f"call {row[0]} is under legal hold" if row else ""


def _blocked(cursor: Any, month: Month) -> str:
    """Why ``month``'s partition must stay ("" when it may go)."""
    cursor.execute(
        "SELECT count(*) FROM cdr_tenant WHERE records_purged_before IS NULL OR records_purged_before < %s",
        [month.end],
    )
    if cursor.fetchone()[0]:
        return "a tenant's record retention has not passed it"
    if why := _held(cursor, month):
        return why
    cursor.execute(
        f"SELECT c.call_id FROM {month.name} e JOIN cdr_call c ON c.call_id = e.call_id "
        "LEFT JOIN cdr_tenant t ON t.id = c.tenant_id "
        "WHERE t.records_purged_before IS NULL OR c.started_at >= t.records_purged_before LIMIT 1"
    )
    row = cursor.fetchone()
    return f"call {row[0]} is kept by its tenant's policy" if row else ""


def event_partitions_drop() -> list[str]:
    """Drop every monthly partition that record retention has passed for all (see the module)."""
    if not _partitioned():
        return []
    dropped = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(records_purged_before) FROM cdr_tenant")
        horizon = cursor.fetchone()[0]
        if horizon is None:
            return []
        for month in partitions.months(cursor):
            if month.end > horizon:
                break
            # Read without a lock (one pass over the month), then the drop in a short transaction
            # under the table's lock, taken first (as every writer takes it), rechecking the holds.
            why = _blocked(cursor, month)
            if not why:
                with transaction.atomic():
                    _lock_timeout(cursor)
                    cursor.execute(f"LOCK TABLE {partitions.TABLE} IN ACCESS EXCLUSIVE MODE")
                    why = _held(cursor, month)
                    if not why:
                        partitions.month_drop(cursor, month)
            if why:
                log.info("kept %s: %s", month.name, why)
                continue
            dropped.append(month.name)
            log.info("dropped %s: every tenant's record retention has passed it", month.name)
    return dropped
