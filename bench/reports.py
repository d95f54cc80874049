"""Benchmark: report figures on 10,000,000 calls (PostgreSQL), through the page's and API's selector.

Run by hand: ``.venv/bin/python bench/reports.py [--database-url URL] [--calls 10000000] [--runs 7]``.
Seeds its own database (``cdr_reports_bench``, kept between runs) with ``cdr.management.seed`` (COPY) over
the last 365 days when it holds fewer calls than asked, rebuilds the rollups with
``cdr_reports_rebuild`` when they do not cover every call (or with ``--rebuild``), then times
``report_summary`` for the largest tenant: one month by day and one year by month, in the
tenant's zone and in Asia/Kolkata (a +05:30 zone), medians of ``--runs`` after one warm-up.
Also times the breakdowns (direction, scenario, codec) from the rollups against a GROUP BY over the
calls of the period, the all-tenants overview, and the catch-up path: rollup upkeep of a batch of
re-derived calls.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GOALS_MS = {"month by day": 500.0, "year by month": 1000.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cdr_reports_bench")
    )
    parser.add_argument("--calls", type=int, default=10_000_000)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the rollups even if they look complete")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")

    import django

    django.setup()
    from zoneinfo import ZoneInfo

    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection, transaction

    from cdr.management.seed import calls_seed
    from cdr.models import Call, ReportShare, ReportSlot, Tenant
    from cdr.selectors.reports import OverviewQuery, ReportQuery, report_breakdowns, report_edges, reports_overview
    from cdr.services.reports import report_summary_fresh as report_summary
    from cdr.services.rollups import rollups_refresh

    if connection.vendor != "postgresql":
        sys.exit("bench/reports.py needs PostgreSQL (--database-url postgres://...)")
    call_command("migrate", verbosity=0)

    def estimate(table: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
            row = cursor.fetchone()
            return max(int(row[0]), 0) if row else 0

    have = estimate("cdr_call")
    if have < args.calls * 0.99:
        have = Call.objects.count()
    if have < args.calls * 0.99:
        print(f"seeding {args.calls - have:,} calls over 365 days (have {have:,})...", flush=True)
        began = time.perf_counter()
        res = calls_seed(calls=args.calls - have, tenants=args.tenants, days=365, seed=1 + have)
        print(f"  seeded {res.calls:,} calls in {time.perf_counter() - began:.0f} s ({res.rate:,.0f}/s)", flush=True)
    calls = Call.objects.count()
    if args.rebuild or ReportShare.objects.count() != calls:
        print(f"rebuilding rollups from {calls:,} calls...", flush=True)
        began = time.perf_counter()
        call_command("cdr_reports_rebuild")
        with connection.cursor() as cursor:
            for table in ("cdr_reportslot", "cdr_reportpdd", "cdr_reportshare", "cdr_reportday", "cdr_reportmixday"):
                cursor.execute(f"VACUUM ANALYZE {table}")
        print(f"  rebuilt in {time.perf_counter() - began:.0f} s", flush=True)
    tenant = Tenant.objects.get(id=1)  # the seed's Zipf head: the largest tenant
    root = User(username="bench", is_superuser=True, is_active=True)  # never saved: sees every tenant
    legs = Call.objects.filter(tenant_id=tenant.id).count()
    slots = ReportSlot.objects.filter(tenant_id=tenant.id).count()
    print(f"\ncdr_call: {calls:,} rows; tenant {tenant.id} ({tenant.time_zone}): {legs:,} legs, {slots:,} rollup rows")

    end = Call.objects.latest("started_at").started_at.date() - timedelta(days=1)
    cases = [
        ("month by day", end - timedelta(days=29), "day", tenant.time_zone),
        ("month by day", end - timedelta(days=29), "day", "Asia/Kolkata"),
        ("year by month", end - timedelta(days=364), "month", tenant.time_zone),
        ("year by month", end - timedelta(days=364), "month", "Asia/Kolkata"),
        ("year by week", end - timedelta(days=364), "week", tenant.time_zone),
        ("week by hour", end - timedelta(days=6), "hour", tenant.time_zone),
    ]
    print(f"\n{'report':<16} {'zone':<20} {'buckets':>7} {'attempts':>10} {'median ms':>9} {'max ms':>8}  goal")
    for label, start, bucket, zone in cases:
        q = ReportQuery(tenant.id, start, end, bucket, ZoneInfo(zone))
        summary = report_summary(q)  # warm-up
        times = []
        for _ in range(args.runs):
            began = time.perf_counter()
            report_summary(q)
            times.append((time.perf_counter() - began) * 1000)
        median = statistics.median(times)
        goal = GOALS_MS.get(label)
        verdict = (
            "" if goal is None else f"{goal:.0f} ms: {'ok' if median <= goal else 'MISSED'} ({median / goal:.2f}x)"
        )
        n, attempts = len(summary["buckets"]), summary["total"]["attempts"]
        print(f"{label:<16} {zone:<20} {n:>7} {attempts:>10,} {median:>9.1f} {max(times):>8.1f}  {verdict}")

    def median_ms(fn: object, runs: int = args.runs) -> float:
        fn()  # type: ignore[operator]
        times = []
        for _ in range(runs):
            began = time.perf_counter()
            fn()  # type: ignore[operator]
            times.append((time.perf_counter() - began) * 1000)
        return statistics.median(times)

    # Breakdowns by direction, scenario and codec: from the rollups (what the page does) against the
    # alternative, a GROUP BY over the tenant's calls of the period through cdr_call_tenant_start.
    print(f"\n{'breakdowns':<16} {'zone':<20} {'legs':>10} {'rollups ms':>10} {'calls ms':>9} {'ratio':>6}")
    for label, days in (("one month", 30), ("one year", 365)):
        start = end - timedelta(days=days - 1)
        q = ReportQuery(tenant.id, start, end, "day", ZoneInfo(tenant.time_zone))
        edges = [at for _, at in report_edges(q)]
        rollups = median_ms(lambda q=q, edges=edges: report_breakdowns(q, edges))

        def from_calls(edges: list = edges) -> list:
            with connection.cursor() as cursor:
                cursor.execute(
                    """SELECT direction, scenario, codec, count(*), count(established_at),
                    sum(billable_ms) FILTER (WHERE established_at IS NOT NULL), count(pdd_ms), sum(pdd_ms)
                    FROM cdr_call WHERE tenant_id = %s AND started_at >= %s AND started_at < %s
                    GROUP BY 1, 2, 3""",
                    [tenant.id, edges[0], edges[-1]],
                )
                return cursor.fetchall()

        n = sum(r[3] for r in from_calls())
        raw = median_ms(from_calls, runs=min(args.runs, 3))
        print(f"{label:<16} {tenant.time_zone:<20} {n:>10,} {rollups:>10.1f} {raw:>9.1f} {raw / rollups:>5.0f}x")

    # The all-tenants overview: one GROUP BY over the day rollups (whole UTC days), every tenant.
    print(f"\n{'overview':<16} {'tenants':>7} {'median ms':>9}")
    for label, days in (("one month", 30), ("one year", 365)):
        oq = OverviewQuery(end - timedelta(days=days - 1), end)
        rows = reports_overview(user=root, q=oq)["tenants"]
        print(f"{label:<16} {len(rows):>7} {median_ms(lambda oq=oq: reports_overview(user=root, q=oq)):>9.1f}")
    with connection.cursor() as cursor:
        sizes = []
        for table in ("cdr_reportslot", "cdr_reportmixslot", "cdr_reportday", "cdr_reportmixday"):
            cursor.execute(f"SELECT count(*), pg_total_relation_size('{table}') FROM {table}")
            rows, size = cursor.fetchone()
            sizes.append(f"{table} {rows:,} rows ({size / 2**20:,.0f} MiB)")
    print("\nrollups: " + "; ".join(sizes))

    # Catch-up path (off the ingest transaction): the rollup upkeep of 1,000 existing calls whose share changed.
    ids = list(Call.objects.filter(tenant_id=tenant.id).order_by("-id").values_list("call_id", flat=True)[:1000])
    times = []
    for _ in range(args.runs):
        with transaction.atomic():
            ReportShare.objects.filter(call__call_id__in=ids).update(billable_ms=-1)  # forces a delta per call
            began = time.perf_counter()
            changed = rollups_refresh(call_ids=ids)
            times.append((time.perf_counter() - began) * 1000)
            transaction.set_rollback(True)
    print(f"\ncatch-up path: rollups_refresh of {changed:,} changed calls: median {statistics.median(times):.1f} ms")


if __name__ == "__main__":
    main()
