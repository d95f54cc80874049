"""Benchmark: record retention (``records_purge``) on PostgreSQL, deleted calls per second.

Run by hand: ``.venv/bin/python bench/retention.py [--calls 200000] [--batches 500,2000] [--database-url URL]``.
Creates its own database (default ``cdr_retention_bench``) and, for each batch size, reseeds it:
``cdr_seed`` (calls, hangups, transfers over the last 30 days, COPY), three events per call
(ringing, established, bye, with payloads), an owner binding per call and the rollup ledger
(``rollups_rebuild``, one ``ReportShare`` row per call). Every tenant then gets a 15-day record
retention and one ``records_purge`` run deletes about half the calls. Prints calls and events
deleted per second and the time per batch transaction. Recordings are not seeded: their cost is
the storage backend's delete calls (one to three per recording), outside the database.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EVENTS_SQL = """
INSERT INTO cdr_callevent (fingerprint, scope, call_id, type, status, reason, observed_at, source, payload, received_at,
                           content_at)
SELECT md5(c.call_id || e.type), 0, c.call_id, e.type, 'accepted', '', c.started_at + e.after, 'sink',
       jsonb_build_object('type', e.type, 'call', jsonb_build_object(
           'call_id', c.call_id, 'correlation_id', c.correlation_id, 'direction', c.direction,
           'scenario', c.scenario, 'tenant_id', c.tenant_id, 'remote_addr', c.remote_addr,
           'local_ip', c.local_ip, 'codec', c.codec, 'started_at', c.started_at)),
       now(), c.started_at
FROM cdr_call c CROSS JOIN (VALUES ('ringing', interval '0.5 s'), ('established', interval '2 s'),
                                   ('bye', interval '60 s')) AS e(type, after)
"""
OWNERS_SQL = (
    "INSERT INTO cdr_callowner (call_id, tenant_id, bound_at) SELECT call_id, tenant_id, started_at FROM cdr_call"
)
TABLES = (
    "cdr_reportshare, cdr_reportslot, cdr_reporthour, cdr_reportday, cdr_reportpdd, cdr_reportpddhour, "
    "cdr_reportpddday, cdr_reportpeak, cdr_reportpending, cdr_recorddeletion, cdr_callowner, cdr_callevent, "
    "cdr_transfer, cdr_hangup, cdr_call"
)


def _ensure_database(url: str) -> None:
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/cdr_retention_bench")
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--tenants", type=int, default=5)
    parser.add_argument("--batches", default="500,2000", help="comma-separated CDR_RECORD_RETENTION BATCH_CALLS")
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        sys.exit("bench/retention.py needs PostgreSQL (--database-url postgres://...)")
    _ensure_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")

    import django

    django.setup()
    from datetime import UTC, datetime

    from django.core.management import call_command
    from django.db import connection

    from cdr.management.seed import calls_seed
    from cdr.models import Call, Tenant
    from cdr.services.records_retention import records_purge
    from cdr.services.rollups_rebuild import rollups_rebuild

    call_command("migrate", verbosity=0)
    now = datetime.now(UTC)
    print(f"{args.calls:,} calls over 30 days, {args.tenants} tenants; retention 15 days for every tenant")
    results = []
    for batch in (int(b) for b in args.batches.split(",")):
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {TABLES} CASCADE")
            cursor.execute("UPDATE cdr_tenant SET record_retention_days = NULL, records_purged_before = NULL")
        began = time.perf_counter()
        calls_seed(calls=args.calls, tenants=args.tenants, days=30, seed=1, now=now)
        with connection.cursor() as cursor:
            cursor.execute(EVENTS_SQL)
            cursor.execute(OWNERS_SQL)
            cursor.execute("ANALYZE cdr_callevent; ANALYZE cdr_callowner")
        rollups_rebuild()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE cdr_reportshare")
        seeded = Call.objects.count()
        took = time.perf_counter() - began
        print(f"\nbatch {batch}: seeded {seeded:,} calls with events, owners, shares in {took:.0f} s")
        Tenant.objects.update(record_retention_days=15)
        began = time.perf_counter()
        runs = records_purge(now=now, batch_calls=batch)
        seconds = time.perf_counter() - began
        calls = sum(r.calls for r in runs)
        events = sum(r.events for r in runs)
        batches = sum(-(-r.calls // batch) for r in runs if r.calls)
        left = Call.objects.count()
        assert left == seeded - calls, (left, seeded, calls)
        results.append((batch, calls, events, seconds, batches))
        print(
            f"  deleted {calls:,} calls and {events:,} events in {seconds:.1f} s: {calls / seconds:,.0f} calls/s, "
            f"{events / seconds:,.0f} events/s; {batches} batch transactions, "
            f"{1000 * seconds / max(batches, 1):.0f} ms each"
        )
    if len(results) > 1:
        base = results[0]
        for batch, calls, _, seconds, _ in results[1:]:
            ratio = (calls / seconds) / (base[1] / base[3])
            print(f"batch {batch} vs {base[0]}: {ratio:.2f}x the calls/s")


if __name__ == "__main__":
    main()
