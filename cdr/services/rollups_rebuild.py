"""Recompute report rollups from the raw rows with SQL GROUP BY (existing data, repairs, the oracle)."""

from __future__ import annotations

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


def rollups_rebuild(*, tenant_id: int | None = None) -> int:
    """Replace the rollups (of one tenant, or all) with a fresh aggregate of the raw rows.

    Writers of the same tenant block on the rollup rows until this commits; run it off-peak.
    Returns the number of legs counted.
    """
    q = connection.ops.quote_name
    params: list[object] = []
    where = ""
    if tenant_id is not None:
        where, params = "WHERE c.tenant_id = %s", [UInt64Field().get_prep_value(tenant_id)]
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
    share_where = "WHERE tenant_id = %s" if tenant_id is not None else ""
    dims = "direction, status, sip_code, initiator"
    mix_dims = "direction, scenario, codec"
    mix_table = q(ReportMixSlot._meta.db_table)
    mixes = {"hour": ReportMixHour, "day": ReportMixDay}
    with transaction.atomic(), connection.cursor() as cursor:
        for model in (
            ReportSlot,
            ReportPdd,
            ReportHour,
            ReportPddHour,
            ReportDay,
            ReportPddDay,
            ReportMixSlot,
            ReportMixHour,
            ReportMixDay,
            ReportShare,
        ):
            qs = model._default_manager.all()
            (qs.filter(tenant_id=tenant_id) if tenant_id is not None else qs)._raw_delete(qs.db)
        cursor.execute(share_sql, params)
        for table, keys in ((slot_table, dims), (mix_table, mix_dims)):
            cursor.execute(
                f"""INSERT INTO {table} (tenant_id, slot, {keys}, {columns})
                SELECT tenant_id, slot, {keys}, {sums}
                FROM {share_table} {share_where} GROUP BY tenant_id, slot, {keys}""",
                params,
            )
        cursor.execute(
            f"""INSERT INTO {pdd_table} (tenant_id, slot, direction, bin, n)
            SELECT tenant_id, slot, direction, {least}({greatest}(pdd_ms, 0) / {PDD_STEP_MS}, {PDD_BINS}) AS b, count(*)
            FROM {share_table} WHERE pdd_ms IS NOT NULL {share_where.replace("WHERE", "AND")}
            GROUP BY tenant_id, slot, direction, b""",
            params,
        )
        for column, (model, pdd_model, at) in coarser.items():
            for target, source, keys in ((model, slot_table, dims), (mixes[column], mix_table, mix_dims)):
                cursor.execute(
                    f"""INSERT INTO {q(target._meta.db_table)} (tenant_id, {keys}, {column}, {columns})
                    SELECT tenant_id, {keys}, {at}, {", ".join(f"sum({c})" for c in COUNTERS)}
                    FROM {source} {share_where} GROUP BY tenant_id, {keys}, {at}""",
                    params,
                )
            cursor.execute(
                f"""INSERT INTO {q(pdd_model._meta.db_table)} (tenant_id, direction, bin, {column}, n)
                SELECT tenant_id, direction, bin, {at}, sum(n) FROM {pdd_table} {share_where}
                GROUP BY tenant_id, direction, bin, {at}""",
                params,
            )
        return ReportShare.objects.filter(**({"tenant_id": tenant_id} if tenant_id is not None else {})).count()
