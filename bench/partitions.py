"""Benchmark: the partitioned event log against the unpartitioned one on the same 20 M calls.

Run by hand (PostgreSQL)::

    .venv/bin/python bench/partitions.py [--calls 20000000] [--days 365] [--rounds 2] [--runs 5] [--keep]
    .venv/bin/python bench/partitions.py --reuse [--no-retention] [--probe-only] --keep   # databases kept

Creates two scratch databases on the server of ``--server-url``: ``cdr_bench_plain`` (migrated to
0022: the unpartitioned ``cdr_callevent``) and ``cdr_bench_part`` (a ``CREATE DATABASE ... TEMPLATE``
clone of it, then migrated to the end: 0023 converts the event log into monthly partitions, timed).
Seeding: ``cdr_seed`` calls over ``--days`` (COPY), then three events per call (ringing, established,
bye, with the payloads ingestion stores) for the calls of the last ``--event-days`` days of every
tenant and for the retention tenant's oldest calendar month (the rest of the calls get none: three
events for every one of 20 M calls would be ~44 GB per database, more than the disk holds twice);
every month between them gets its (empty) partition, as ``event_partitions_ensure`` would have made
it. The report tenant's rollups are rebuilt (one tenant: a rebuild of all 20 M calls takes hours).

Then on both, in this order, each in its own process: the admin call list (first page, deep pages by
cursor as bench/admin.py pages them, a tenant's first and deep page), the call detail page of a call
with events and of one without (it reads the call's events: on the partitioned log that probes every
partition's index), the month report (rollups) and the month's GROUP BY over the calls, and the first
``--export-rows`` records of the CSV export over HTTP; medians of ``--runs`` after one warm-up, the
ratio part/plain and the queries per page; ``--rounds`` passes alternate plain and part (the machine
is shared: only pages of unchanged tables moving alike tell noise from cost), with table and index
sizes per row (``pg_total_relation_size``, ``pg_indexes_size``) for the projection in
docs/benchmarks.md. Then the detail page's event query alone, interleaved plain/part, per partition.
Last, on the partitioned one: the retention tenant's oldest month expired (its
``record_retention_days`` set so the cutoff is that month's end) and purged by the real
``records_purge`` while a paced ingestion (bench/ingest.py's Redis, Celery worker and sink) runs at
``--rate`` calls/s: the purge's seconds, the ingest's on_bye -> committed lag p50/p99 (``--ingest-only``
runs the same ingestion without the purge, the baseline). Drops both databases unless
``--keep``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.retention import EVENTS_SQL  # noqa: E402

# Measured on this bench's 200,000-call run (every table, with indexes, labels and hangups included).
CALL_BYTES, EVENT_BYTES = 1_100, 730
KEEP_FREE = 25 * 2**30
EPOCH = "1970-01-01T00:00:00+00:00"
TABLES = ("cdr_call", "cdr_hangup", "cdr_transfer", "cdr_callevent", "cdr_reportshare", "cdr_callowner")


def _url(server: str, name: str) -> str:
    return urlparse(server)._replace(path=f"/{name}").geturl()


def _admin(server: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(_url(server, "postgres"), autocommit=True) as conn:
        conn.execute(sql)


def _manage(url: str, *args: str) -> None:
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="project.settings", DJANGO_LOG_LEVEL="WARNING")
    subprocess.run([sys.executable, "manage.py", *args, "-v", "0"], cwd=ROOT, env=env, check=True)


def _child(mode: str, url: str, args: argparse.Namespace) -> dict:
    """Run one phase in its own process (Django knows one database per process); its last line is JSON."""
    cmd = [sys.executable, __file__, f"--{mode}", url, "--runs", str(args.runs), "--export-rows", str(args.export_rows)]
    cmd += ["--report-tenant", str(args.report_tenant), "--retention-tenant", str(args.retention_tenant)]
    cmd += ["--ingest-only"] if args.ingest_only else []
    cmd += ["--rate", str(args.rate), "--ingest-seconds", str(args.ingest_seconds), "--days", str(args.days)]
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="project.settings", DJANGO_LOG_LEVEL="WARNING")
    last = ""
    with subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        for line in child.stdout:
            if last:
                print(last, end="", flush=True)
            last = line
    if child.returncode:
        sys.exit(f"bench/partitions.py --{mode} failed ({child.returncode})")
    return json.loads(last)


def _months_back(now: datetime, days: float) -> tuple[datetime, datetime]:
    """The oldest calendar month the seed reaches (partly) and the start of the next one."""
    oldest = now - timedelta(days=days)
    start = oldest.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    nxt = (start + timedelta(days=32)).replace(day=1)
    return start, nxt


def seed(args: argparse.Namespace) -> None:
    import psycopg

    PLAIN, PART = f"{args.db_prefix}_plain", f"{args.db_prefix}_part"

    plain, part = _url(args.server_url, PLAIN), _url(args.server_url, PART)
    for name in (PLAIN, PART):
        _admin(args.server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    now = datetime.now(UTC)
    _, second = _months_back(now, args.days)
    calls_share = args.event_days / args.days
    with_events = args.calls * (calls_share + (1 / args.tenants) * 31 / args.days)  # rough: a tenant's month
    need = 2 * (args.calls * CALL_BYTES + 3 * with_events * EVENT_BYTES) + 3 * with_events * EVENT_BYTES
    free = shutil.disk_usage("/").free
    print(
        f"disk: ~{need / 2**30:.1f} GiB needed for {args.calls:,} calls and ~{3 * with_events:,.0f} events in two "
        f"databases (and the conversion's copy), {free / 2**30:.1f} GiB free; keeping {KEEP_FREE / 2**30:.0f} GiB",
        flush=True,
    )
    if free - need < KEEP_FREE:
        sys.exit(f"not enough disk: lower --calls (at most ~{args.calls * (free - KEEP_FREE) / need:,.0f})")
    _admin(args.server_url, f'CREATE DATABASE "{PLAIN}"')
    _manage(plain, "migrate", "cdr", "0022")
    for app in ("contenttypes", "auth", "admin", "sessions", "axes"):
        _manage(plain, "migrate", app)
    began = time.perf_counter()
    _manage(plain, "cdr_seed", "--calls", str(args.calls), "--days", str(args.days), "--tenants", str(args.tenants))
    took = time.perf_counter() - began
    print(f"seeded {args.calls:,} calls over {args.days} days in {took:.0f} s ({args.calls / took:,.0f}/s)", flush=True)
    began = time.perf_counter()
    where = "\nWHERE c.started_at >= %s OR (c.tenant_id = %s AND c.started_at < %s)"  # last days; the purged month
    with psycopg.connect(plain) as conn:
        # Today's code reads content_at: the unpartitioned table gets the column (filled as 0023 fills it)
        # and keeps its 0022 unique key (fingerprint, scope), which is the same key (docs/operations.md).
        conn.execute(f"ALTER TABLE cdr_callevent ADD COLUMN content_at timestamptz NOT NULL DEFAULT '{EPOCH}'")
        conn.execute(EVENTS_SQL + where, [now - timedelta(days=args.event_days), args.retention_tenant, second])
    with psycopg.connect(plain, autocommit=True) as conn:
        events = conn.execute("SELECT count(*) FROM cdr_callevent").fetchone()[0]
        calls = conn.execute("SELECT count(DISTINCT call_id) FROM cdr_callevent").fetchone()[0]
    took = time.perf_counter() - began
    print(
        f"seeded {events:,} events for {calls:,} calls ({calls / args.calls:.1%} of them: the last "
        f"{args.event_days} days of every tenant, tenant {args.retention_tenant}'s oldest month) in {took:.0f} s",
        flush=True,
    )
    began = time.perf_counter()
    _manage(plain, "cdr_reports_rebuild", "--tenant", str(args.report_tenant))
    print(f"rebuilt tenant {args.report_tenant}'s rollups in {time.perf_counter() - began:.0f} s", flush=True)
    began = time.perf_counter()
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"VACUUM ANALYZE in {time.perf_counter() - began:.0f} s", flush=True)
    began = time.perf_counter()
    _admin(args.server_url, f'CREATE DATABASE "{PART}" TEMPLATE "{PLAIN}"')
    print(f"cloned {PLAIN} into {PART} in {time.perf_counter() - began:.0f} s", flush=True)
    _manage(plain, "migrate", "cdr", "0023", "--fake")  # the column is there; the table stays unpartitioned
    began = time.perf_counter()
    _manage(part, "migrate", "cdr", "0023")
    took = time.perf_counter() - began
    print(f"migrate cdr 0023 (the conversion, table locked): {events:,} events in {took:.0f} s", flush=True)
    _manage(part, "migrate")
    _child("prepare", part, args)
    with psycopg.connect(part, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE cdr_callevent")


def prepare(args: argparse.Namespace) -> dict:
    """Partitioned database: every month from the oldest seeded to this one gets its partition."""
    from django.db import connection, transaction
    from django.utils import timezone

    from cdr.db.partitions import Month, month_create, months
    from cdr.models import Call

    oldest = Call.objects.order_by("started_at").values_list("started_at", flat=True).first()
    month, last = Month.of(oldest), Month.of(timezone.now())
    made = 0
    with connection.cursor() as cursor:
        have = set(months(cursor))
        while month <= last:
            if month not in have:
                with transaction.atomic():
                    month_create(cursor, month)
                made += 1
            month = month.shift(1)
        total = len(months(cursor))
    print(f"created {made} empty monthly partitions: {total} in all", flush=True)
    return {"partitions": total}


def measure(args: argparse.Namespace) -> dict:
    from datetime import date
    from zoneinfo import ZoneInfo

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from bench.export import rss_kb
    from bench.measure import export_stream, median_ms, page_time
    from cdr.admin.changelist import cursor_encode, estimated_rows
    from cdr.models import Call, CallEvent, Tenant, TenantMembership
    from cdr.selectors.reports import ReportQuery
    from cdr.services.api_tokens import api_token_create
    from cdr.services.reports import report_summary_fresh as report_summary
    from tests.support.processes import free_port, wait_port

    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG = False
    out: dict = {"pages": {}}
    User = get_user_model()
    root, _ = User.objects.get_or_create(username="bench-root", defaults={"is_staff": True, "is_superuser": True})
    big = 1
    staff, _ = User.objects.get_or_create(username=f"bench-staff-{big}", defaults={"is_staff": True})
    TenantMembership.objects.get_or_create(user=staff, tenant_id=big)
    su, st = Client(), Client()
    su.force_login(root)
    st.force_login(staff)
    total = estimated_rows(Call) or 0

    def deep_cursor(tenant: int | None, depth: int) -> str:
        qs = Call.objects.order_by("-started_at", "-id")
        if tenant is not None:
            qs = qs.filter(tenant_id=tenant)
        row = qs.values_list("started_at", "id")[depth : depth + 1].first()
        return "?before=" + cursor_encode(*row) if row else "?"

    recent = Call.objects.filter(status="failed").order_by("-started_at").values_list("pk", "call_id").first()
    cutoff = Call.objects.order_by("-started_at").values_list("started_at", flat=True)[total // 2]
    old = Call.objects.filter(started_at__lte=cutoff).order_by("-started_at").values_list("pk", "call_id").first()
    deep_all = deep_cursor(None, int(total * 0.95))
    pages = [
        (su, "first page, unfiltered", "?"),
        (su, "deep page (row 1,000,000)", deep_cursor(None, 1_000_000)),
        (su, f"deep page (row {int(total * 0.95):,})", deep_all),
        (su, f"tenant filter (tenant {args.report_tenant})", f"?tenant={args.report_tenant}"),
        (su, "search: exact Call-ID", f"?q={recent[1]}"),
        (st, f"tenant {big} staff: first page", "?"),
        (st, f"tenant {big} staff: deep page (row 500,000)", deep_cursor(big, 500_000)),
        (su, "call detail, a call with 3 events", f"/admin/cdr/call/{recent[0]}/change/"),
        (su, "call detail, a call with no events", f"/admin/cdr/call/{old[0]}/change/"),
    ]
    events = {
        "recent": CallEvent.objects.filter(call_id=recent[1]).count(),
        "old": CallEvent.objects.filter(call_id=old[1]).count(),
    }
    print(f"  detail pages: {events['recent']} and {events['old']} events", flush=True)
    for client, label, query in pages:
        url = query if query.startswith("/") else "/admin/cdr/call/" + query
        med, longest, queries, _ = page_time(client, url, args.runs)
        out["pages"][label] = [med, longest, queries]
        print(f"  {label:<45} {med:>8.1f} ms (max {longest:.1f}), {queries} queries", flush=True)

    tenant = Tenant.objects.get(id=args.report_tenant)
    end = Call.objects.latest("started_at").started_at.date() - timedelta(days=1)
    start = end - timedelta(days=29)
    q = ReportQuery(tenant.id, start, end, "day", ZoneInfo(tenant.time_zone))
    med, longest = median_ms(lambda: report_summary(q), args.runs)
    out["pages"][f"month report, tenant {tenant.id} (rollups)"] = [med, longest, 0]
    print(f"  month report of tenant {tenant.id} by day (rollups): {med:.1f} ms", flush=True)

    def from_calls() -> list:
        with connection.cursor() as cursor:
            cursor.execute(
                """SELECT direction, scenario, codec, count(*), count(established_at),
                sum(billable_ms) FILTER (WHERE established_at IS NOT NULL), count(pdd_ms), sum(pdd_ms)
                FROM cdr_call WHERE tenant_id = %s AND started_at >= %s AND started_at < %s GROUP BY 1, 2, 3""",
                [big, start, end + timedelta(days=1)],
            )
            return cursor.fetchall()

    med, longest = median_ms(from_calls, min(args.runs, 3))
    out["pages"][f"month GROUP BY over tenant {big}'s calls"] = [med, longest, 1]
    print(f"  month GROUP BY over tenant {big}'s calls: {med:.1f} ms", flush=True)
    assert isinstance(start, date)

    user, _ = User.objects.get_or_create(username="bench-export", defaults={"is_staff": True, "is_superuser": True})
    key = api_token_create(user=user, name="bench/partitions.py").key
    port = free_port()
    env = dict(os.environ, DJANGO_DEBUG="0", DJANGO_SECRET_KEY="bench", DJANGO_ALLOWED_HOSTS="127.0.0.1")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port, timeout=60)
        export_stream(port, key, "csv", 10_000)  # warm-up
        times = [export_stream(port, key, "csv", args.export_rows)[0] for _ in range(3)]
        seconds = statistics.median(times)
        peak = rss_kb(server.pid, "VmHWM")
    finally:
        server.terminate()
        server.wait(timeout=10)
    out["export"] = [seconds, args.export_rows / seconds, peak]
    print(
        f"  export CSV, {args.export_rows:,} rows: {seconds:.2f} s ({args.export_rows / seconds:,.0f} rows/s), "
        f"server peak {peak / 1024:.0f} MB",
        flush=True,
    )
    out["sizes"] = sizes()
    return out


def sizes() -> dict:
    """Rows (pg_class.reltuples), total and index bytes per table, partitions summed."""
    from django.db import connection

    found = {}
    with connection.cursor() as cursor:
        for table in TABLES:
            # pg_partition_tree names nothing for a plain table: then the table alone.
            cursor.execute("SELECT relid, isleaf FROM pg_partition_tree(%s::regclass)", [table])
            tree = cursor.fetchall() or [(table, True)]
            rows = total = indexes = 0
            for relid, leaf in tree:
                if not leaf:
                    continue  # a partitioned parent's reltuples already count its partitions' rows
                cursor.execute(
                    "SELECT greatest(reltuples, 0)::bigint, pg_total_relation_size(oid), pg_indexes_size(oid) "
                    "FROM pg_class WHERE oid = %s::regclass",
                    [str(relid)],
                )
                r, t, i = cursor.fetchone()
                rows, total, indexes = rows + r, total + t, indexes + i
            parts = sum(1 for _, leaf in tree if leaf) if len(tree) > 1 else 0
            found[table] = [int(rows), int(total), int(indexes), int(parts)]
    return found


def retention(args: argparse.Namespace) -> dict:
    """records_purge of one tenant's oldest month while a paced ingestion runs."""
    from celery import Celery
    from django.db import connection
    from django.utils import timezone

    from bench.measure import pct
    from cdr import simulator
    from cdr.models import Call, CallEvent, RecordDeletion, Tenant
    from cdr.services.records_retention import records_purge
    from cdr.simulator.oracle import distinct_event_count
    from cdr.sinks.lifecycle import CeleryLifecycleSink
    from cdr.sinks.publish import CeleryPublisher
    from tests.support.processes import RedisServer, Worker

    tenant = args.retention_tenant
    now = timezone.now()
    _, second = _months_back(now, args.days)
    days = (now.date() - second.date()).days  # records_cutoff: midnight UTC of now - days = second
    expiring = Call.objects.filter(tenant_id=tenant, started_at__lt=second).count()
    print(
        f"  tenant {tenant}: {expiring:,} calls before {second:%Y-%m-%d} (its oldest month); "
        f"record_retention_days={days}",
        flush=True,
    )
    tmp = Path(tempfile.mkdtemp(prefix="cdr-bench-part-"))
    redis = RedisServer(tmp / "redis")
    redis.start()
    app = Celery("bench", broker=redis.url, set_as_current=False)
    app.conf.update(task_default_queue="cdr", task_serializer="json")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp),
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "CELERY_BROKER_URL": redis.url,
        "CDR_VAR_DIR": str(tmp),
    }
    worker = Worker(env, concurrency=2)
    worker.start()
    time.sleep(3)
    first_event = (CallEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    try:
        n = int(args.rate * args.ingest_seconds)
        calls = simulator.generate(n, seed=7, base_time=datetime.now(UTC), time_scale=0.001)
        want = distinct_event_count(calls)
        sink = CeleryLifecycleSink(
            publisher=CeleryPublisher(app),
            spool_path=tmp / "paced.sqlite3",
            flush_seconds=0.1,
            batch_events=1000,
            confirm_seconds=0.5,
        )
        fired: list[float] = []

        def ingest() -> None:
            t0 = time.monotonic()
            simulator.run(calls, sink, threads=8, rate=args.rate)
            fired.append(time.monotonic() - t0)

        thread = threading.Thread(target=ingest)
        t0 = time.monotonic()
        thread.start()
        time.sleep(min(10.0, args.ingest_seconds / 4))  # ingestion at its pace first
        began = time.perf_counter()
        if args.ingest_only:  # the baseline: the same ingestion without the purge
            runs = [RecordDeletion(calls=0, events=0)]
        else:
            Tenant.objects.filter(id=tenant).update(record_retention_days=days)
            runs = records_purge(tenant_id=tenant)
        purge = time.perf_counter() - began
        during = time.monotonic() - t0
        thread.join()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if CallEvent.objects.filter(id__gte=first_event).count() >= want:
                break
            time.sleep(0.5)
        sink.close(timeout=60)
        with connection.cursor() as cur:
            cur.execute(
                """SELECT EXTRACT(EPOCH FROM c.updated_at - e.seen) * 1000 FROM cdr_call c
                   JOIN (SELECT call_id, min(observed_at) seen FROM cdr_callevent WHERE type = 'bye' AND id >= %s
                         GROUP BY call_id) e ON e.call_id = c.call_id""",
                [first_event],
            )
            lags = [float(r[0]) for r in cur.fetchall()]
    finally:
        worker.stop()
        redis.stop()
    run = runs[0]
    out = {
        "calls": run.calls,
        "events": run.events,
        "seconds": purge,
        "lag_p50": statistics.median(lags) if lags else None,
        "lag_p99": pct(lags, 0.99) if lags else None,
        "lagged": len(lags),
        "fired": fired[0] if fired else None,
        "ingest_calls": n,
        "expiring": expiring,
        "purge_started_after": during - purge,
    }
    print(
        f"  records_purge of tenant {tenant}'s oldest month: {run.calls:,} calls, {run.events:,} events in "
        f"{purge:.1f} s ({run.calls / purge:,.0f} calls/s; goal < 60 s), begun {out['purge_started_after']:.0f} s "
        f"into an ingestion of {n:,} calls at "
        f"{args.rate:,.0f}/s (fired in {out['fired'] or 0:.1f} s); lag on_bye -> committed over {len(lags):,} calls: "
        f"p50 {out['lag_p50'] or 0:.0f} ms, p99 {out['lag_p99'] or 0:.0f} ms (goal < 2000 ms)",
        flush=True,
    )
    return out


def event_probe(plain: str, part: str, rounds: int = 5, n: int = 200) -> None:
    """The detail page's event read alone, interleaved plain/part: a call with events and one without.

    The pages above are a few ms of SQL inside tens of ms of Django; this isolates what partitioning
    adds to the one query it changes (an index probe per partition), with the machine's noise spread
    over both sides alike."""
    import psycopg

    sql = "SELECT * FROM cdr_callevent WHERE call_id = %s ORDER BY observed_at, id"
    with psycopg.connect(plain) as a, psycopg.connect(part) as b:
        recent = "SELECT call_id FROM cdr_callevent WHERE observed_at > now() - interval '7 days' LIMIT 1"
        with_events = a.execute(recent).fetchone()[0]
        without = a.execute(
            "SELECT call_id FROM cdr_call c WHERE NOT EXISTS "
            "(SELECT 1 FROM cdr_callevent e WHERE e.call_id = c.call_id) ORDER BY id LIMIT 1 OFFSET 1000"
        ).fetchone()[0]
        parts = b.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'cdr_callevent'::regclass").fetchone()[0]
        print(f"\nthe detail page's event query alone ({parts} partitions), median of {rounds} x {n} interleaved:")
        for label, call_id in (("a call with events", with_events), ("a call with none", without)):
            times: dict[str, list[float]] = {"plain": [], "part": []}
            for _ in range(rounds):
                for side, conn in (("plain", a), ("part", b)):
                    conn.execute(sql, [call_id]).fetchall()
                    for _ in range(n):
                        began = time.perf_counter()
                        conn.execute(sql, [call_id]).fetchall()
                        times[side].append((time.perf_counter() - began) * 1e6)
            x, y = statistics.median(times["plain"]), statistics.median(times["part"])
            print(
                f"  {label:<20} plain {x:>7.0f} us  part {y:>7.0f} us  part/plain {y / x:.2f}  "
                f"(+{(y - x) / parts:.1f} us per partition)"
            )


def report(rounds: list[tuple[dict, dict]]) -> None:
    """Per page: the best median of the rounds on each side, and each round's ratio part/plain."""
    plain, part = rounds[-1]
    best = {
        side: {label: min(r[i]["pages"][label][0] for r in rounds) for label in plain["pages"]}
        for i, side in enumerate("ab")
    }
    print(
        f"\n{'page (best median of the rounds)':<48} {'plain ms':>9} {'part ms':>9} {'part/plain':>10} "
        f"{'each round':>14} {'queries':>8}"
    )
    for label, (_, _, queries) in plain["pages"].items():
        a, b = best["a"][label], best["b"][label]
        each = " ".join(f"{r[1]['pages'][label][0] / r[0]['pages'][label][0]:.2f}" for r in rounds)
        print(f"{label:<48} {a:>9.1f} {b:>9.1f} {b / a:>10.2f} {each:>14} {queries:>4}/{part['pages'][label][2]:<3}")
    a, b = max(r[0]["export"][1] for r in rounds), max(r[1]["export"][1] for r in rounds)
    print(f"{'export CSV rows/s (best of the rounds)':<48} {a:>9,.0f} {b:>9,.0f} {b / a:>10.2f}")
    print(f"\n{'table':<18} {'db':<6} {'rows':>12} {'total MiB':>10} {'index MiB':>10} {'B/row':>7} {'idx B/row':>9}")
    for table in TABLES:
        for name, found in (("plain", plain), ("part", part)):
            rows, total, indexes, parts = found["sizes"][table]
            per, idx = (total / rows, indexes / rows) if rows else (0, 0)
            extra = f"  ({parts} partitions)" if parts else ""
            print(
                f"{table:<18} {name:<6} {rows:>12,} {total / 2**20:>10,.0f} {indexes / 2**20:>10,.0f} "
                f"{per:>7,.0f} {idx:>9,.0f}{extra}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--calls", type=int, default=20_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--event-days", type=int, default=30, help="every tenant's calls of these last days get events")
    parser.add_argument("--report-tenant", type=int, default=20, help="the month report's tenant (rollups rebuilt)")
    parser.add_argument("--retention-tenant", type=int, default=10, help="the tenant whose oldest month is purged")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--export-rows", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=1000, help="paced ingestion during the purge, calls/s")
    parser.add_argument("--ingest-seconds", type=float, default=120)
    parser.add_argument("--db-prefix", default="cdr_bench", help="the databases: PREFIX_plain and PREFIX_part")
    parser.add_argument("--rounds", type=int, default=2, help="measure plain then part this many times")
    parser.add_argument("--probe-only", action="store_true", help="only the event query probe (--reuse databases)")
    parser.add_argument("--ingest-only", action="store_true", help="the retention phase without the purge (baseline)")
    parser.add_argument("--no-retention", action="store_true", help="skip the retention under ingestion")
    parser.add_argument("--keep", action="store_true", help="keep both databases")
    parser.add_argument("--reuse", action="store_true", help="skip seeding: the databases of a --keep run")
    for mode in ("prepare", "measure", "retention"):
        parser.add_argument(f"--{mode}", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.server_url.startswith("postgres"):
        sys.exit("bench/partitions.py needs PostgreSQL (--server-url postgres://...)")
    child = next((m for m in ("prepare", "measure", "retention") if getattr(args, m)), None)
    if child:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
        import django

        django.setup()
        print(json.dumps({"prepare": prepare, "measure": measure, "retention": retention}[child](args)))
        return
    PLAIN, PART = f"{args.db_prefix}_plain", f"{args.db_prefix}_part"
    print(f"# bench/partitions.py, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores", flush=True)
    if not args.reuse:
        seed(args)
    plain, part = _url(args.server_url, PLAIN), _url(args.server_url, PART)
    if args.probe_only:
        event_probe(plain, part)
        return
    try:
        # Rounds alternate plain and part: the machine is shared, and its load moves within minutes.
        rounds: list[tuple[dict, dict]] = []
        for i in range(args.rounds):
            print(f"\nround {i + 1}, {PLAIN} (unpartitioned event log):", flush=True)
            a = _child("measure", plain, args)
            print(f"\nround {i + 1}, {PART} (partitioned event log):", flush=True)
            b = _child("measure", part, args)
            rounds.append((a, b))
        report(rounds)
        event_probe(plain, part)
        if not args.no_retention:
            print(f"\nretention on {PART} under ingestion:", flush=True)
            _child("retention", part, args)
    finally:
        if not args.keep:
            for name in (PLAIN, PART):
                _admin(args.server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            print(f"dropped {PLAIN} and {PART}", flush=True)


if __name__ == "__main__":
    main()
