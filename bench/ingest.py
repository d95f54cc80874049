"""Ingestion benchmark: sink latency, end-to-end calls/s and lag, against PostgreSQL COPY.

    .venv/bin/python bench/ingest.py [--calls 20000] [--rate 2000] [--seconds 10]

Starts its own Redis (loopback, free port) and one Celery worker (prefork, 2 processes) on a
scratch PostgreSQL database `cdr_bench` (dropped and re-created). Prints figures and ratios;
it asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB = "cdr_bench"
os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

from bench.measure import pct  # noqa: E402


def reset_db() -> None:
    for sql in (f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)


def sink_latency(sink, n: int = 100_000) -> tuple[float, float, float]:
    from cdr.hooks import CallMeta, Direction

    meta = CallMeta(call_id="lat@gw", direction=Direction.INBOUND, tenant_id=1, started_at=datetime.now(UTC))
    samples = []
    clock = time.perf_counter_ns
    for _ in range(n):
        t = clock()
        sink.on_ringing(meta)
        samples.append(clock() - t)
    return statistics.median(samples) / 1000, pct(samples, 0.99) / 1000, max(samples) / 1000


def wait_committed(want_events: int, timeout: float = 600) -> float:
    from cdr.models import CallEvent

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if CallEvent.objects.count() >= want_events:
            return time.monotonic()
        time.sleep(0.05)
    raise TimeoutError(f"only {CallEvent.objects.count()} of {want_events} events committed")


def lag_ms() -> tuple[float, float, int]:
    """on_bye observed (sink stamp) -> the call row's last write (worker, inside the commit)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            """SELECT EXTRACT(EPOCH FROM c.updated_at - e.seen) * 1000 FROM cdr_call c
               JOIN (SELECT call_id, min(observed_at) seen FROM cdr_callevent WHERE type = 'bye'
                     GROUP BY call_id) e ON e.call_id = c.call_id"""
        )
        lags = [float(r[0]) for r in cur.fetchall()]
    return statistics.median(lags), pct(lags, 0.99), len(lags)


def copy_rate(rows: int) -> float:
    """The same call rows written by COPY into a table shaped like cdr_call (same indexes)."""
    from django.db import connection

    from cdr.selectors import RECORD_FIELDS, call_records_iter, calls_filter

    records = list(call_records_iter(calls_filter()))[:rows]
    buf = io.StringIO()
    for i, r in enumerate(records * max(1, rows // max(1, len(records)))):
        values = [f"{r['call_id']}-{i}" if k == "call_id" else r[k] for k in RECORD_FIELDS]
        buf.write("\t".join("\\N" if v is None else str(v) for v in values) + "\n")
    data = buf.getvalue()
    n = data.count("\n")
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_copy")
        cur.execute("CREATE TABLE bench_copy (LIKE cdr_call INCLUDING DEFAULTS INCLUDING INDEXES)")
        cur.execute("ALTER TABLE bench_copy DROP COLUMN id, ALTER COLUMN updated_at DROP NOT NULL")
        raw = cur.cursor
        t = time.perf_counter()
        with raw.copy(f"COPY bench_copy ({', '.join(RECORD_FIELDS)}) FROM STDIN") as copy:
            copy.write(data)
        connection.commit() if not connection.get_autocommit() else None
        elapsed = time.perf_counter() - t
        cur.execute("DROP TABLE bench_copy")
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20_000, help="calls for the as-fast-as-possible run")
    parser.add_argument("--rate", type=float, default=2000, help="calls/s for the paced run (lag)")
    parser.add_argument("--seconds", type=float, default=10, help="length of the paced run")
    args = parser.parse_args()
    reset_db()
    import django

    django.setup()
    from celery import Celery

    from cdr import simulator
    from cdr.models import Call, CallEvent
    from cdr.simulator.oracle import distinct_event_count
    from cdr.sinks.lifecycle import CeleryLifecycleSink
    from cdr.sinks.publish import CeleryPublisher
    from tests.support.processes import RedisServer, Worker

    tmp = Path(tempfile.mkdtemp(prefix="cdr-bench-"))
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

    def new_sink(name: str) -> CeleryLifecycleSink:
        return CeleryLifecycleSink(
            publisher=CeleryPublisher(app),
            spool_path=tmp / f"{name}.sqlite3",
            flush_seconds=0.1,
            batch_events=1000,
            confirm_seconds=0.5,
        )

    print(f"# cdr ingestion benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores")
    sink = new_sink("latency-up")
    p50, p99, mx = sink_latency(sink)
    print(f"sink call latency, broker up:    p50 {p50:.2f} us  p99 {p99:.2f} us  max {mx:.0f} us")
    sink.close(timeout=30)
    redis.stop()
    sink = new_sink("latency-down")
    p50, p99, mx = sink_latency(sink)
    time.sleep(0.5)
    print(
        f"sink call latency, broker down:  p50 {p50:.2f} us  p99 {p99:.2f} us  max {mx:.0f} us"
        f"  (goal p99 < 50 us; events wait in the spool: {sink.stats()['spool_pending']})"
    )
    redis.start()
    sink.close(timeout=60)
    CallEvent.objects.all().delete()
    Call.objects.all().delete()

    worker = Worker(env, concurrency=2)
    worker.start()
    time.sleep(3)
    try:
        calls = simulator.generate(args.calls, seed=1, base_time=datetime.now(UTC), time_scale=0.01)
        want = distinct_event_count(calls)
        sink = new_sink("e2e")
        t0 = time.monotonic()
        stats = simulator.run(calls, sink, threads=4)
        fired = time.monotonic() - t0
        done = wait_committed(want)
        legs = Call.objects.count()
        e2e = args.calls / (done - t0)
        print(
            f"end to end, as fast as possible: {args.calls} calls ({legs} legs, {stats.total} hook calls, "
            f"{want} distinct events) fired in {fired:.2f}s, committed after {done - t0:.2f}s: "
            f"{e2e:,.0f} calls/s, {legs / (done - t0):,.0f} legs/s, {want / (done - t0):,.0f} events/s"
        )
        sink.close(timeout=60)
        rate = copy_rate(50_000)
        print(
            f"PostgreSQL COPY of the same call rows: {rate:,.0f} rows/s;  "
            f"ratio end-to-end legs/s : COPY rows/s = 1 : {rate / (legs / (done - t0)):.1f}"
        )
        from cdr.services.rollups import rollups_catch_up

        t = time.perf_counter()
        applied = rollups_catch_up(max_rounds=10_000)
        took = time.perf_counter() - t
        print(
            f"report rollups catch-up (the periodic task, off the ingest path): {applied} legs in {took:.2f}s = "
            f"{applied / took:,.0f} legs/s, {applied / took / (legs / (done - t0)):.1f}x the ingest rate"
        )

        CallEvent.objects.all().delete()
        Call.objects.all().delete()
        n = int(args.rate * args.seconds)
        calls = simulator.generate(n, seed=2, base_time=datetime.now(UTC), time_scale=0.001)
        want = distinct_event_count(calls)
        sink = new_sink("paced")
        t0 = time.monotonic()
        simulator.run(calls, sink, threads=8, rate=args.rate)
        fired = time.monotonic() - t0
        done = wait_committed(want)
        sink.close(timeout=60)
        med, p99, count = lag_ms()
        print(
            f"paced at {args.rate:,.0f} calls/s for {args.seconds:.0f}s: fired in {fired:.2f}s, all committed "
            f"{done - t0 - fired:.2f}s after the last hook; on_bye -> committed row lag over {count} calls: "
            f"p50 {med:.0f} ms, p99 {p99:.0f} ms (goal < 2000 ms)"
        )
    finally:
        worker.stop()
        redis.stop()


if __name__ == "__main__":
    main()
