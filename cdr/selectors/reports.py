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
    ReportMixDay,
    ReportMixHour,
    ReportMixSlot,
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
from cdr.reports.tables import BREAKDOWN_FIGURES, BREAKDOWNS, OVERVIEW_FIGURES
from cdr.selectors.access import tenant_ids_for, tenants_visible_to


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


def tenant_zone(tenant: Tenant) -> ZoneInfo:
    """The tenant's zone; a name that is not a known IANA zone reads as UTC (it is the tenant form's
    job to refuse one, not every report's to fail on it)."""
    try:
        return ZoneInfo(tenant.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def report_tenants(*, user: Any, limit: int) -> list[Tenant]:
    """The tenants a report page offers ``user``: real tenants by id, then tenant 0 ("not resolved")
    only if it has traffic in the rollups, so a page never opens on an empty unresolved tenant."""
    # Ids from 2**63 are stored below zero (UInt64Field): sorted here, not by the database.
    tenants = sorted(tenants_visible_to(user).order_by("id")[: limit + 1], key=lambda t: t.id)
    if tenants and tenants[0].id == 0:
        unresolved = tenants.pop(0)
        if ReportDay.objects.filter(tenant_id=0, attempts__gt=0).exists():
            tenants.append(unresolved)
    return tenants[:limit]


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
    tz = _zone(params["tz"], "tz") if params.get("tz") else tenant_zone(tenant)
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


_MIX_MODELS: dict[str, type[Model]] = {"slot": ReportMixSlot, "hour": ReportMixHour, "day": ReportMixDay}


def _sources(edges: list[datetime], pdd: bool, mix: bool = False) -> list[_Source]:
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
        model = _MIX_MODELS[level] if mix else _MODELS[level][1 if pdd else 0]
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


def report_breakdowns(q: ReportQuery, edges: list[datetime]) -> dict[str, list[dict[str, Any]]]:
    """Figures per direction, scenario and codec over the whole range ("": the call had none).

    The range is read as one bucket, so its whole UTC days come from the day rollups and only its
    edges from hours and slots."""
    group = ("direction", "scenario", "codec")
    per: dict[str, dict[str, Totals]] = {table: defaultdict(Totals) for table in BREAKDOWNS}
    for _, direction, scenario, codec, *sums in (
        r for src in _sources([edges[0], edges[-1]], pdd=False, mix=True) for r in _grouped(q, src, group, COUNTERS)
    ):
        counters = dict(zip(COUNTERS, sums, strict=True))
        values = {"direction": direction, "scenario": scenario, "codec": codec}
        for table, dim in BREAKDOWNS.items():
            # No status in these rollups: failed and NER are the main table's.
            per[table][values[dim]].add_row(direction=direction, status="", sip_code=0, counters=counters)
    out = {}
    for table, dim in BREAKDOWNS.items():
        rows = [(key, t.figures()) for key, t in per[table].items() if t.attempts]
        rows.sort(key=lambda r: (-r[1]["attempts"], r[0]))
        out[table] = [{dim: key, **{f: fig[f] for f in BREAKDOWN_FIGURES}} for key, fig in rows]
    return out


def report_summary(q: ReportQuery) -> dict[str, Any]:
    """Figures per bucket, for the whole range, and hangup causes by SIP code and by initiator.

    At most nine queries whatever the range (three for the breakdowns): whole UTC days inside a
    bucket come from the day rollups, whole UTC hours of the rest from the hour rollups, and what is left (the edges of
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
    breakdowns = report_breakdowns(q, edges)
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
        **breakdowns,
        # Legs written but not yet in these figures (0 after ``report_summary_fresh`` unless
        # ingestion is far ahead of the catch-up).
        "pending_legs": rollups_pending(),
    }


# The overview lists at most this many tenants (by the chosen order); the page says when it cut.
OVERVIEW_LIMIT = 500


@dataclass(frozen=True)
class OverviewQuery:
    start: date  # UTC days, both included
    end: date
    order: str = "-attempts"  # a figure or "tenant", "-" for descending


def overview_query_parse(params: Mapping[str, Any]) -> OverviewQuery:
    """``from``, ``to`` (UTC dates, both included; default the last 30 days) and ``o`` (the order)."""
    today = datetime.now(ZoneInfo("UTC")).date()
    end = _day(params["to"], "to") if params.get("to") else today
    start = _day(params["from"], "from") if params.get("from") else end - timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise BucketError("to", "must not be before 'from'")
    order = params.get("o") or "-attempts"
    if order.lstrip("-") not in ("tenant", *OVERVIEW_FIGURES):
        raise BucketError("o", f"expected one of tenant, {', '.join(OVERVIEW_FIGURES)} (- first for descending)")
    return OverviewQuery(start=start, end=end, order=order)


def reports_overview(*, user: Any, q: OverviewQuery) -> dict[str, Any]:
    """One row per tenant ``user`` may see, with its figures over the UTC days of ``q``.

    One GROUP BY over the day rollups (whole UTC days: no slot or hour edges) and one read of the
    tenants. Tenant 0 ("not resolved") is listed only when it has calls in the range; every other
    visible tenant is, with zeros if it had none.
    """
    ids = tenant_ids_for(user)
    days = ReportDay.objects.filter(day__gte=q.start, day__lte=q.end)
    if ids is not None:
        days = days.filter(tenant_id__in=ids)
    sums = {
        tenant_id: {"attempts": a, "answered": n, "billable_ms": b, "pdd_n": pn, "pdd_ms": pm}
        for tenant_id, a, n, b, pn, pm in days.values_list("tenant_id")
        .annotate(Sum("attempts"), Sum("answered"), Sum("billable_ms"), Sum("pdd_n"), Sum("pdd_ms"))
        .values_list("tenant_id", "attempts__sum", "answered__sum", "billable_ms__sum", "pdd_n__sum", "pdd_ms__sum")
        .order_by()
    }
    tenants = tenants_visible_to(user).values_list("id", "name")
    rows = []
    for tenant_id, name in tenants:
        got = sums.get(tenant_id)
        if tenant_id == 0 and not (got and got["attempts"]):
            continue
        t = Totals()
        if got:
            t.attempts, t.answered, t.billable_ms = int(got["attempts"]), int(got["answered"]), int(got["billable_ms"])
            t.pdd_n, t.pdd_ms = int(got["pdd_n"]), int(got["pdd_ms"])
        figures = t.figures()
        rows.append({"tenant": tenant_id, "name": name, **{f: figures[f] for f in OVERVIEW_FIGURES}})
    key = q.order.lstrip("-")
    descending = q.order.startswith("-")
    rows.sort(key=lambda r: r["tenant"])
    if key == "tenant":
        rows.sort(key=lambda r: (r["name"] or f"Tenant {r['tenant']}").casefold(), reverse=descending)
    else:
        # Tenants without the figure (no answered call: no ACD) sort last either way; ties by id.
        present = sorted((r for r in rows if r[key] is not None), key=lambda r: r[key], reverse=descending)
        rows = present + [r for r in rows if r[key] is None]
    return {
        "from": q.start.isoformat(),
        "to": q.end.isoformat(),
        "tz": "UTC",
        "order": q.order,
        "tenants": rows[:OVERVIEW_LIMIT],
        "more": max(len(rows) - OVERVIEW_LIMIT, 0),
    }
