"""Report reads: request parameters parsed into a ``ReportQuery`` for one visible tenant, and the
figures per local bucket read from the rollups (the page, the API and the bench share this).

Reads only: bringing the rollups and peaks up to date first is ``cdr.services.reports``'s job.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection
from django.db.models import Model, Q, Sum

from cdr.fields import UInt64Field
from cdr.models import (
    ReportDay,
    ReportHour,
    ReportPdd,
    ReportPddDay,
    ReportPddHour,
    ReportPeak,
    ReportPending,
    ReportSlot,
    Tenant,
)
from cdr.reports.buckets import BUCKETS, BucketError, bucket_edges, split_levels
from cdr.reports.metrics import COUNTERS, Totals
from cdr.selectors.access import tenants_visible_to


@dataclass(frozen=True)
class ReportQuery:
    tenant_id: int
    start: date
    end: date  # included
    bucket: str
    tz: ZoneInfo
    direction: str | None = None


class TenantNotVisible(LookupError):
    """A report asked for a tenant the user may not see (or that does not exist): interfaces answer 404."""


def rollups_pending() -> int:
    """Legs written but not yet applied to the rollups."""
    return ReportPending.objects.count()


def report_edges(q: ReportQuery) -> list[tuple[datetime, datetime]]:
    """(label, UTC instant) of each bucket edge of the query's range; ``BucketError`` if it cannot be bucketed."""
    return bucket_edges(start=q.start, end=q.end, bucket=q.bucket, tz=q.tz)


# Default range: the last 30 local days, today included.
DEFAULT_DAYS = 30


def _zone(name: str, param: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BucketError(param, f"unknown time zone {name[:64]!r} (an IANA name such as Europe/Berlin)") from None


def _day(raw: str, param: str) -> date:
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise BucketError(param, f"expected a date YYYY-MM-DD, got {raw[:40]!r}") from None
    if not 1970 <= day.year <= 2200:
        raise BucketError(param, "year out of range 1970..2200")
    return day


def report_tenant(*, user: Any, raw: str | None) -> Tenant:
    """The tenant a report is for; one the user may not see is ``TenantNotVisible``, like an unknown one."""
    visible = tenants_visible_to(user)
    if not raw:
        only = list(visible.order_by("id")[:2])
        if len(only) == 1:
            return only[0]
        raise BucketError("tenant", "required: the id of one of your tenants")
    try:
        tenant_id = int(raw)
    except ValueError:
        raise BucketError("tenant", f"expected a tenant id, got {raw[:40]!r}") from None
    if not 0 <= tenant_id < 1 << 64:
        raise BucketError("tenant", "out of range")
    tenant = visible.filter(id=tenant_id).first()
    if tenant is None:
        raise TenantNotVisible(tenant_id)
    return tenant


def report_query_parse(*, user: Any, params: Mapping[str, Any]) -> ReportQuery:
    """``tenant``, ``from``, ``to`` (local dates, both included), ``bucket``, ``tz``, ``direction``.

    Raises ``BucketError`` (a 400 naming the parameter) for bad input and ``TenantNotVisible`` (a
    404 at the interfaces) for a tenant the user may not see.
    """
    tenant = report_tenant(user=user, raw=params.get("tenant"))
    tz = _zone(params.get("tz") or tenant.time_zone or "UTC", "tz")
    bucket = params.get("bucket") or "day"
    if bucket not in BUCKETS:
        raise BucketError("bucket", f"expected one of {', '.join(BUCKETS)}")
    today = datetime.now(tz).date()
    end = _day(params["to"], "to") if params.get("to") else today
    start = _day(params["from"], "from") if params.get("from") else end - timedelta(days=DEFAULT_DAYS - 1)
    direction = params.get("direction") or None
    if direction not in (None, "inbound", "outbound"):
        raise BucketError("direction", "expected inbound or outbound")
    return ReportQuery(tenant_id=tenant.id, start=start, end=end, bucket=bucket, tz=tz, direction=direction)


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
    """(bucket index, peak concurrent legs) of the range's slots as they stand."""
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
    labelled = report_edges(q)
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
        # Legs written but not yet in these figures (0 after ``report_summary_fresh`` unless
        # ingestion is far ahead of the catch-up).
        "pending_legs": rollups_pending(),
    }
