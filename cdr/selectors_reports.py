"""Report figures per local bucket, read from the rollups (the page, the API and the bench share this)."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Model, Q, Sum

from cdr.fields import UInt64Field
from cdr.models import ReportDay, ReportHour, ReportPdd, ReportPddDay, ReportPddHour, ReportPeak, ReportSlot
from cdr.reports.buckets import bucket_edges, split_levels
from cdr.reports.metrics import COUNTERS, Totals
from cdr.services.peaks import report_peaks_refresh
from cdr.services.rollups import rollups_catch_up, rollups_pending


@dataclass(frozen=True)
class ReportQuery:
    tenant_id: int
    start: date
    end: date  # included
    bucket: str
    tz: ZoneInfo
    direction: str | None = None


_DIMS = ("direction", "status", "sip_code", "initiator")


@dataclass(frozen=True)
class _Source:
    """One rollup table read for a set of [lo, hi) spans; ``starts[k]`` begins bucket ``index[k]``."""

    model: type[Model]
    column: str  # "slot", "hour" or "day"
    spans: list[tuple[Any, Any]]
    starts: list[Any]
    index: list[int]


_MODELS: dict[str, tuple[type[Model], type[Model]]] = {
    "slot": (ReportSlot, ReportPdd),
    "hour": (ReportHour, ReportPddHour),
    "day": (ReportDay, ReportPddDay),
}


def _sources(edges: list[datetime], pdd: bool) -> list[_Source]:
    out = []
    for level, pieces in split_levels(edges).items():
        if not pieces:
            continue
        if level == "day":
            pieces = [(a.date(), b.date(), i) for a, b, i in pieces]
        spans: list[tuple[Any, Any]] = []
        for lo, hi, _ in pieces:
            if spans and spans[-1][1] == lo:
                spans[-1] = (spans[-1][0], hi)
            else:
                spans.append((lo, hi))
        model = _MODELS[level][1 if pdd else 0]
        out.append(_Source(model, level, spans, [p[0] for p in pieces], [p[2] for p in pieces]))
    return out


def _grouped(q: ReportQuery, src: _Source, group: tuple[str, ...], sums: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """(bucket index, *group, *sums) rows of one source, summed per bucket and group."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(src.model._meta.db_table)
        kind = "date" if src.column == "day" else "timestamptz"
        spans = " OR ".join(f"({src.column} >= %s AND {src.column} < %s)" for _ in src.spans)
        params: list[Any] = [src.starts, UInt64Field().get_prep_value(q.tenant_id)]
        params += [v for span in src.spans for v in span]
        direction = ""
        if q.direction:
            direction, params = "AND direction = %s", [*params, q.direction]
        cols = ", ".join(group)
        with connection.cursor() as cursor:
            # width_bucket over the bucket starts maps each row to its local bucket in SQL.
            cursor.execute(
                f"""SELECT width_bucket({src.column}, %s::{kind}[]), {cols}, {", ".join(f"sum({c})" for c in sums)}
                FROM {table} WHERE tenant_id = %s AND ({spans}) {direction} GROUP BY 1, {cols}""",
                params,
            )
            return [(src.index[k - 1], *rest) for k, *rest in cursor.fetchall()]
    spans_q = Q()
    for lo, hi in src.spans:
        spans_q |= Q(**{f"{src.column}__gte": lo, f"{src.column}__lt": hi})
    qs = src.model._default_manager.filter(spans_q, tenant_id=q.tenant_id)
    if q.direction:
        qs = qs.filter(direction=q.direction)
    rows = qs.values_list(src.column, *group).annotate(*(Sum(c) for c in sums)).order_by()
    return [(src.index[bisect_right(src.starts, r[0]) - 1], *r[1:]) for r in rows]


def _peaks(q: ReportQuery, edges: list[datetime]) -> list[tuple[int, int]]:
    """(bucket index, peak concurrent legs) after recomputing the range's dirty slots."""
    report_peaks_refresh(tenant_id=q.tenant_id, lo=edges[0], hi=edges[-1])
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(ReportPeak._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""SELECT width_bucket(slot, %s::timestamptz[]) - 1, max(peak) FROM {table}
                WHERE tenant_id = %s AND slot >= %s AND slot < %s GROUP BY 1""",
                [edges[:-1], UInt64Field().get_prep_value(q.tenant_id), edges[0], edges[-1]],
            )
            return list(cursor.fetchall())
    rows = ReportPeak.objects.filter(tenant_id=q.tenant_id, slot__gte=edges[0], slot__lt=edges[-1])
    return [(bisect_right(edges, slot) - 1, peak) for slot, peak in rows.values_list("slot", "peak")]


def report_summary(q: ReportQuery) -> dict[str, Any]:
    """Figures per bucket, for the whole range, and hangup causes by SIP code and by initiator.

    At most six queries whatever the range: whole UTC days inside a bucket come from the day
    rollups, whole UTC hours of the rest from the hour rollups, and what is left (the edges of
    buckets in half- and quarter-hour zones) from the 15-minute slots. Raises ``BucketError`` for
    a range that cannot be bucketed.
    """
    labelled = bucket_edges(start=q.start, end=q.end, bucket=q.bucket, tz=q.tz)
    # Legs written since the periodic catch-up last ran: a bounded round here, so a report is
    # exact unless ingestion is far ahead (then ``pending_legs`` says by how much).
    rollups_catch_up(max_rounds=1)
    edges = [at for _, at in labelled]
    buckets = [Totals() for _ in labelled[:-1]]
    total = Totals()
    by_code: dict[int, int] = defaultdict(int)
    by_initiator: dict[str, int] = defaultdict(int)
    rows = [r for src in _sources(edges, pdd=False) for r in _grouped(q, src, _DIMS, COUNTERS)]
    for i, direction, status, code, initiator, *sums in rows:
        counters = dict(zip(COUNTERS, sums, strict=True))
        for t in (buckets[i], total):
            t.add_row(direction=direction, status=status, sip_code=code, counters=counters)
        by_code[code] += int(counters["attempts"])
        by_initiator[initiator] += int(counters["attempts"])
    for i, b, n in (r for src in _sources(edges, pdd=True) for r in _grouped(q, src, ("bin",), ("n",))):
        buckets[i].add_pdd(b, int(n))
        total.add_pdd(b, int(n))
    for i, peak in _peaks(q, edges):
        for t in (buckets[i], total):
            t.peak_concurrent = max(t.peak_concurrent, int(peak))
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
        # Legs written but not yet in these figures (0 unless ingestion is far ahead of the catch-up).
        "pending_legs": rollups_pending(),
    }
