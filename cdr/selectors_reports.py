"""Report figures per local bucket, read from the rollups (the page, the API and the bench share this)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Sum

from cdr.fields import UInt64Field
from cdr.models import ReportPdd, ReportSlot
from cdr.reports.buckets import bucket_edges, bucket_index
from cdr.reports.metrics import COUNTERS, Totals


@dataclass(frozen=True)
class ReportQuery:
    tenant_id: int
    start: date
    end: date  # included
    bucket: str
    tz: ZoneInfo
    direction: str | None = None


_DIMS = ("direction", "status", "sip_code", "initiator")


def _slot_rows(q: ReportQuery, edges: list[Any]) -> list[tuple[Any, ...]]:
    """(bucket index, direction, status, sip_code, initiator, *counters), one per bucket and dims."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(ReportSlot._meta.db_table)
        sums = ", ".join(f"sum({c})" for c in COUNTERS)
        direction = "AND direction = %s" if q.direction else ""
        params: list[Any] = [edges[:-1], UInt64Field().get_prep_value(q.tenant_id), edges[0], edges[-1]]
        with connection.cursor() as cursor:
            # width_bucket over the bucket starts maps each slot to its local bucket in SQL.
            cursor.execute(
                f"""SELECT width_bucket(slot, %s::timestamptz[]) - 1, {", ".join(_DIMS)}, {sums} FROM {table}
                WHERE tenant_id = %s AND slot >= %s AND slot < %s {direction}
                GROUP BY 1, {", ".join(_DIMS)}""",
                [*params, q.direction] if q.direction else params,
            )
            return list(cursor.fetchall())
    qs = ReportSlot.objects.filter(tenant_id=q.tenant_id, slot__gte=edges[0], slot__lt=edges[-1])
    if q.direction:
        qs = qs.filter(direction=q.direction)
    rows = qs.values_list("slot", *_DIMS).annotate(*(Sum(c) for c in COUNTERS)).order_by()
    return [(bucket_index(edges, r[0]), *r[1:]) for r in rows]


def _pdd_rows(q: ReportQuery, edges: list[Any]) -> list[tuple[int, int, int]]:
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(ReportPdd._meta.db_table)
        direction = "AND direction = %s" if q.direction else ""
        params: list[Any] = [edges[:-1], UInt64Field().get_prep_value(q.tenant_id), edges[0], edges[-1]]
        with connection.cursor() as cursor:
            cursor.execute(
                f"""SELECT width_bucket(slot, %s::timestamptz[]) - 1, bin, sum(n) FROM {table}
                WHERE tenant_id = %s AND slot >= %s AND slot < %s {direction} GROUP BY 1, 2""",
                [*params, q.direction] if q.direction else params,
            )
            return list(cursor.fetchall())
    qs = ReportPdd.objects.filter(tenant_id=q.tenant_id, slot__gte=edges[0], slot__lt=edges[-1])
    if q.direction:
        qs = qs.filter(direction=q.direction)
    rows = qs.values_list("slot", "bin").annotate(Sum("n")).order_by()
    return [(bucket_index(edges, slot), b, n) for slot, b, n in rows]


def report_summary(q: ReportQuery) -> dict[str, Any]:
    """Figures per bucket, for the whole range, and hangup causes by SIP code and by initiator.

    Two queries whatever the range. Raises ``BucketError`` for a range that cannot be bucketed.
    """
    labelled = bucket_edges(start=q.start, end=q.end, bucket=q.bucket, tz=q.tz)
    edges = [at for _, at in labelled]
    buckets = [Totals() for _ in labelled[:-1]]
    total = Totals()
    by_code: dict[int, int] = defaultdict(int)
    by_initiator: dict[str, int] = defaultdict(int)
    for i, direction, status, code, initiator, *sums in _slot_rows(q, edges):
        counters = dict(zip(COUNTERS, sums, strict=True))
        for t in (buckets[i], total):
            t.add_row(direction=direction, status=status, sip_code=code, counters=counters)
        by_code[code] += int(counters["attempts"])
        by_initiator[initiator] += int(counters["attempts"])
    for i, b, n in _pdd_rows(q, edges):
        buckets[i].add_pdd(b, int(n))
        total.add_pdd(b, int(n))
    return {
        "tenant": q.tenant_id,
        "from": q.start.isoformat(),
        "to": q.end.isoformat(),
        "bucket": q.bucket,
        "tz": q.tz.key,
        "direction": q.direction or "",
        "buckets": [
            {"start": label.isoformat(), **t.figures()} for (label, _), t in zip(labelled, buckets, strict=False)
        ],
        "total": total.figures(),
        "sip_codes": [{"sip_code": c or None, "legs": n} for c, n in sorted(by_code.items()) if n],
        "initiators": [{"initiator": k or "none", "legs": n} for k, n in sorted(by_initiator.items()) if n],
    }
