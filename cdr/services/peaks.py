"""Peak concurrency per slot: mark slots dirty on the write path, recompute them from raw rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Q

from cdr.db.bulk import bulk_upsert
from cdr.fields import UInt64Field
from cdr.models import Call, ReportPeak, Tenant
from cdr.reports.buckets import SLOT
from cdr.reports.peaks import MAX_LEG, leg_slots, peaks_sweep


def peaks_mark(*, spans: Iterable[tuple[int, datetime, datetime | None]]) -> None:
    """Bump ``dirty`` on every slot these (tenant, start, end) leg spans cover."""
    slots = sorted({(tenant, slot) for tenant, start, end in spans for slot in leg_slots(start, end)})
    rows = [{"tenant_id": t, "slot": s, "peak": 0, "dirty": 1} for t, s in slots]
    bulk_upsert(ReportPeak, rows, conflict=["tenant_id", "slot"], update=["dirty"], merge={"dirty": "{old} + 1"})


def _runs(slots: list[datetime]) -> list[tuple[datetime, datetime]]:
    """Sorted slots grouped so that one read of legs per group serves them all."""
    runs: list[tuple[datetime, datetime]] = []
    for s in slots:
        if runs and s - runs[-1][1] <= MAX_LEG:
            runs[-1] = (runs[-1][0], s + SLOT)
        else:
            runs.append((s, s + SLOT))
    return runs


def _peaks(tenant_id: int, slots: list[datetime]) -> dict[datetime, int]:
    wanted = set(slots)
    out = dict.fromkeys(slots, 0)
    for lo, hi in _runs(slots):
        legs = (
            Call.objects.filter(tenant_id=tenant_id, started_at__gte=lo - MAX_LEG, started_at__lt=hi)
            .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=lo))
            .order_by("started_at")
            .values_list("started_at", "ended_at")
        )
        for slot, peak in peaks_sweep(legs.iterator(chunk_size=5000)):
            if slot in wanted:
                out[slot] = peak
    return out


def report_peaks_refresh(
    *, tenant_id: int | None = None, lo: datetime | None = None, hi: datetime | None = None, limit: int = 20_000
) -> int:
    """Recompute dirty slots (of one tenant and range, or any); returns how many were cleaned."""
    dirty = ReportPeak.objects.filter(dirty__gt=0)
    if tenant_id is not None:
        dirty = dirty.filter(tenant_id=tenant_id)
    if lo is not None and hi is not None:
        dirty = dirty.filter(slot__gte=lo, slot__lt=hi)
    rows = list(dirty.order_by("tenant_id", "slot").values_list("tenant_id", "slot", "dirty")[:limit])
    if not rows:
        return 0
    by_tenant: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for tenant, slot, seen in rows:
        by_tenant[tenant].append((slot, seen))
    cleaned = 0
    for tenant, slots in by_tenant.items():
        peaks = _peaks(tenant, [s for s, _ in slots])
        cleaned += _clean(tenant, [(slot, peaks[slot], seen) for slot, seen in slots])
    return cleaned


def _clean(tenant_id: int, rows: list[tuple[datetime, int, int]]) -> int:
    """Store recomputed peaks; compare-and-set, so a slot a writer bumped meanwhile stays dirty."""
    if connection.vendor != "postgresql":
        with transaction.atomic():
            return sum(
                ReportPeak.objects.filter(tenant_id=tenant_id, slot=slot, dirty=seen).update(peak=peak, dirty=0)
                for slot, peak, seen in rows
            )
    table = connection.ops.quote_name(ReportPeak._meta.db_table)
    slots, peaks, seen = (list(col) for col in zip(*rows, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {table} AS p SET peak = v.peak, dirty = 0
            FROM (SELECT unnest(%s::timestamptz[]) AS slot, unnest(%s::int[]) AS peak, unnest(%s::int[]) AS seen) v
            WHERE p.tenant_id = %s AND p.slot = v.slot AND p.dirty = v.seen""",
            [slots, peaks, seen, UInt64Field().get_prep_value(tenant_id)],
        )
        return cursor.rowcount


def peaks_tenants(*, tenant_id: int | None = None) -> list[int]:
    """The tenants peaks_rebuild sweeps, in its order."""
    if tenant_id is not None:
        return [tenant_id]
    return sorted(set(Call.objects.order_by().values_list("tenant_id", flat=True).distinct()))


def peaks_rebuild(*, tenant_id: int | None = None, swept: Callable[[int], None] | None = None) -> int:
    """Recompute every slot's peak from the raw rows with one sweep per tenant (``swept(tenant)`` after each).

    A tenant's slots before its ``records_purged_before`` keep their peaks: retention deleted the
    legs they were computed from.
    """
    ids = peaks_tenants(tenant_id=tenant_id)
    horizons = Tenant.objects.filter(records_purged_before__isnull=False)
    if tenant_id is not None:
        horizons = horizons.filter(id=tenant_id)
    kept = dict(horizons.values_list("id", "records_purged_before"))
    written = 0
    with transaction.atomic():
        peaks = ReportPeak.objects.filter(tenant_id=tenant_id) if tenant_id is not None else ReportPeak.objects.all()
        for tenant, horizon in kept.items():
            peaks = peaks.exclude(tenant_id=tenant, slot__lt=horizon)
        peaks.delete()
        for tenant in ids:
            legs = Call.objects.filter(tenant_id=tenant).order_by("started_at").values_list("started_at", "ended_at")
            if tenant in kept:
                legs = legs.filter(started_at__gte=kept[tenant])
            batch: list[dict[str, Any]] = []
            for slot, peak in peaks_sweep(legs.iterator(chunk_size=20_000)):
                batch.append({"tenant_id": tenant, "slot": slot, "peak": peak, "dirty": 0})
                if len(batch) >= 5000:
                    written += _insert(batch)
                    batch = []
            written += _insert(batch)
            if swept is not None:
                swept(tenant)
    return written


def _insert(rows: list[dict[str, Any]]) -> int:
    bulk_upsert(ReportPeak, rows, conflict=["tenant_id", "slot"], update=["peak", "dirty"])
    return len(rows)
