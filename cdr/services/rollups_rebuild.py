"""Recompute report rollups from the raw rows with SQL GROUP BY (existing data, repairs, the oracle)."""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction

from cdr.fields import UInt64Field
from cdr.models import (
    Call,
    ReportDay,
    ReportHour,
    ReportMixDay,
    ReportMixHour,
    ReportMixSlot,
    ReportPdd,
    ReportPddDay,
    ReportPddHour,
    ReportShare,
    ReportSlot,
    Tenant,
    Transfer,
)
from cdr.reports.metrics import COUNTERS, PDD_BINS, PDD_STEP_MS


def _slot_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"date_bin('15 minutes', {column}, TIMESTAMPTZ '2000-01-01 00:00:00+00')"
    # SQLite keeps UTC datetimes as 'YYYY-MM-DD HH:MM:SS[.ffffff]' text.
    return (
        f"strftime('%%Y-%%m-%%d %%H:', {column}) || "
        f"printf('%%02d', (CAST(strftime('%%M', {column}) AS INTEGER) / 15) * 15) || ':00'"
    )


def _share_sql(where: str) -> str:
    q = connection.ops.quote_name
    call, transfer = (q(m._meta.db_table) for m in (Call, Transfer))
    least = "LEAST" if connection.vendor == "postgresql" else "MIN"
    greatest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    return (
        f"""
        INSERT INTO {q(ReportShare._meta.db_table)} (call_id, tenant_id, slot, direction, status, sip_code,
            initiator, scenario, codec, answered, billable_ms, pdd_ms, transfers, bridged, recorded, started_at,
            ended_at)
        SELECT c.id, c.tenant_id, {_slot_sql("c.started_at")}, c.direction, c.status, COALESCE(c.sip_code, 0),
            c.hangup_initiator, c.scenario, c.codec, c.established_at IS NOT NULL, COALESCE(c.billable_ms, 0), c.pdd_ms,
            (SELECT count(*) FROM {transfer} t WHERE t.inbound_id = c.id),
            (SELECT count(*) FROM {transfer} t WHERE t.inbound_id = c.id AND t.outcome = 'bridged'),
            c.has_recording,  -- not any recording of the call id: see cdr.services.provenance
            c.started_at, c.ended_at
        FROM {call} c {where}
    """,
        least,
        greatest,
    )


def purge_horizons(tenant_id: int | None = None) -> dict[int, datetime]:
    """Tenants whose records retention deleted before a UTC midnight: their rollups before it stay."""
    tenants = Tenant.objects.filter(records_purged_before__isnull=False)
    if tenant_id is not None:
        tenants = tenants.filter(id=tenant_id)
    return dict(tenants.values_list("id", "records_purged_before"))


def _kept(horizons: dict[int, datetime], column: str, prefix: str) -> tuple[str, list[object]]:
    """``AND NOT (tenant before its horizon OR ...)``: the rows a rebuild leaves alone."""
    if not horizons:
        return "", []
    parts, params = [], []
    for tenant, horizon in sorted(horizons.items()):
        parts.append(f"({prefix}tenant_id = %s AND {prefix}{column} < %s)")
        params += [UInt64Field().get_prep_value(tenant), connection.ops.adapt_datetimefield_value(horizon)]
    return f" AND NOT ({' OR '.join(parts)})", params


def rollups_rebuild(*, tenant_id: int | None = None) -> int:
    """Replace the rollups (of one tenant, or all) with a fresh aggregate of the raw rows.

    Rows retention deleted cannot be counted again: a tenant's rollups (and the shares of its
    held calls) before its ``records_purged_before`` are kept as they are, and only what follows
    is recomputed. Writers of the same tenant block on the rollup rows until this commits; run it
    off-peak. Returns the number of legs counted.
    """
    q = connection.ops.quote_name
    horizons = purge_horizons(tenant_id)
    params: list[object] = []
    where = "WHERE 1 = 1"
    if tenant_id is not None:
        where, params = "WHERE c.tenant_id = %s", [UInt64Field().get_prep_value(tenant_id)]
    kept_sql, kept_params = _kept(horizons, "started_at", "c.")
    where += kept_sql
    call_params = params + kept_params
    share_table, slot_table, pdd_table = (q(m._meta.db_table) for m in (ReportShare, ReportSlot, ReportPdd))
    pg = connection.vendor == "postgresql"
    coarser = {
        "hour": (
            ReportHour,
            ReportPddHour,
            "date_trunc('hour', slot, 'UTC')" if pg else "strftime('%%Y-%%m-%%d %%H:00:00', slot)",
        ),
        "day": (ReportDay, ReportPddDay, "(slot AT TIME ZONE 'UTC')::date" if pg else "date(slot)"),
    }
    sums = ", ".join(
        {
            "attempts": "count(*)",
            "answered": "sum(CASE WHEN answered THEN 1 ELSE 0 END)",
            "billable_ms": "sum(CASE WHEN answered THEN billable_ms ELSE 0 END)",
            "pdd_n": "count(pdd_ms)",
            "pdd_ms": "COALESCE(sum(pdd_ms), 0)",
            "transfers": "sum(transfers)",
            "bridged": "sum(bridged)",
            "recorded": "sum(CASE WHEN answered AND recorded THEN 1 ELSE 0 END)",
        }[c]
        for c in COUNTERS
    )
    columns = ", ".join(COUNTERS)
    share_sql, least, greatest = _share_sql(where)
    share_where = "WHERE tenant_id = %s" if tenant_id is not None else "WHERE 1 = 1"
    dims = "direction, status, sip_code, initiator"
    mix_dims = "direction, scenario, codec"
    mix_table = q(ReportMixSlot._meta.db_table)
    mixes = {"hour": ReportMixHour, "day": ReportMixDay}
    # Slots start at their leg's start, and horizons are UTC midnights: "slot before the horizon"
    # is "started before it", and whole hours and days fall on one side.
    slot_kept, slot_params = _kept(horizons, "slot", "")
    with transaction.atomic(), connection.cursor() as cursor:
        for model, column in (
            (ReportSlot, "slot"),
            (ReportPdd, "slot"),
            (ReportHour, "hour"),
            (ReportPddHour, "hour"),
            (ReportDay, "day"),
            (ReportPddDay, "day"),
            (ReportMixSlot, "slot"),
            (ReportMixHour, "hour"),
            (ReportMixDay, "day"),
            (ReportShare, "started_at"),
        ):
            qs = model._default_manager.all()
            if tenant_id is not None:
                qs = qs.filter(tenant_id=tenant_id)
            for tenant, horizon in horizons.items():
                qs = qs.exclude(tenant_id=tenant, **{f"{column}__lt": horizon.date() if column == "day" else horizon})
            qs._raw_delete(qs.db)
        cursor.execute(share_sql, call_params)
        for table, keys in ((slot_table, dims), (mix_table, mix_dims)):
            cursor.execute(
                f"""INSERT INTO {table} (tenant_id, slot, {keys}, {columns})
                SELECT tenant_id, slot, {keys}, {sums}
                FROM {share_table} {share_where}{slot_kept} GROUP BY tenant_id, slot, {keys}""",
                params + slot_params,
            )
        cursor.execute(
            f"""INSERT INTO {pdd_table} (tenant_id, slot, direction, bin, n)
            SELECT tenant_id, slot, direction, {least}({greatest}(pdd_ms, 0) / {PDD_STEP_MS}, {PDD_BINS}) AS b, count(*)
            FROM {share_table} {share_where} AND pdd_ms IS NOT NULL{slot_kept}
            GROUP BY tenant_id, slot, direction, b""",
            params + slot_params,
        )
        for column, (model, pdd_model, at) in coarser.items():
            for target, source, keys in ((model, slot_table, dims), (mixes[column], mix_table, mix_dims)):
                cursor.execute(
                    f"""INSERT INTO {q(target._meta.db_table)} (tenant_id, {keys}, {column}, {columns})
                    SELECT tenant_id, {keys}, {at}, {", ".join(f"sum({c})" for c in COUNTERS)}
                    FROM {source} {share_where}{slot_kept} GROUP BY tenant_id, {keys}, {at}""",
                    params + slot_params,
                )
            cursor.execute(
                f"""INSERT INTO {q(pdd_model._meta.db_table)} (tenant_id, direction, bin, {column}, n)
                SELECT tenant_id, direction, bin, {at}, sum(n) FROM {pdd_table} {share_where}{slot_kept}
                GROUP BY tenant_id, direction, bin, {at}""",
                params + slot_params,
            )
        return ReportShare.objects.filter(**({"tenant_id": tenant_id} if tenant_id is not None else {})).count()
