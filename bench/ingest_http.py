"""HTTP ingestion benchmark: a gateway process posting signed batches over loopback.

    .venv/bin/python bench/ingest_http.py [--calls 20000] [--batch 100] [--connections 2]
        [--no-worker | --worker-concurrency 2 --worker-nice 0] [--gunicorn-config FILE]

Starts its own Redis (loopback, free port, AOF), one Celery worker (prefork, 2 processes; none with
--no-worker, which measures the edge alone while the broker absorbs the burst) and gunicorn serving
the project (2 sync workers), on the scratch PostgreSQL database `cdr_bench_http` (dropped and
re-created). A second process plays the gateway: it encodes the simulator's calls as the wire events
and posts them in signed batches. Prints this machine's own figures (bench/calibrate.py), events/s
accepted, p50/p99 response times, the end-to-end committed rate, and the in-process sink's
end-to-end rate on the same calls. Asserts nothing.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from servers import gunicorn, scratch_database, server_env  # noqa: E402  (bench/, beside this file)

DB = "cdr_bench_http"
DB_URL = f"postgres://postgres@127.0.0.1:5432/{DB}"


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def wire_events(n: int, seed: int, base_time: datetime) -> list[dict]:
    """The calls as a gateway would post them: one wire event per hook call, with an event id."""
    from cdr import simulator
    from cdr.lifecycle.encode import encode_hook_call

    events = []
    stamp = time.time_ns()
    for c, sim in enumerate(simulator.generate(n, seed=seed, base_time=base_time, time_scale=0.01)):
        labels = sim.labels  # as set_labels before each leg's first hook
        for s, step in enumerate(sim.steps):
            stamp += 1000
            event = encode_hook_call(str(step.method), step.args, stamp, labels.get(step.leg))
            event.pop("source", None)
            event["event_id"] = f"{c}-{s}"
            events.append(event)
    return events


def client(args: argparse.Namespace) -> None:
    """The gateway process: post every batch once, report per-request figures as JSON."""
    from cdr.ingest.signing import signed_headers

    events = wire_events(args.calls, args.seed, datetime.fromisoformat(args.base_time))
    bodies = [json.dumps(events[i : i + args.batch]).encode() for i in range(0, len(events), args.batch)]
    latencies: list[float] = []
    accepted = [0]
    statuses: dict[int, int] = {}
    outcomes: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()
    path = "/ingest/v1/events"
    json_type = {"Content-Type": "application/json"}  # signed with the body

    def worker(mine: list[bytes]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
        for body in mine:
            headers = signed_headers(args.key_id, args.secret, "POST", path, body, headers=json_type)
            t = time.perf_counter()
            conn.request("POST", path, body, headers)
            response = conn.getresponse()
            data = response.read()
            elapsed = time.perf_counter() - t
            with lock:
                latencies.append(elapsed)
                statuses[response.status] = statuses.get(response.status, 0) + 1
                if response.status == 200:
                    answer = json.loads(data)
                    accepted[0] += answer["accepted"]
                    for item in answer["results"]:
                        if item["status"] != "accepted":
                            outcomes[f"{item['status']}: {item.get('reason', '')}"[:120]] += 1
        conn.close()

    # Warm up every server thread (imports, URLconf, broker connection) with a batch that is only
    # rejected, so the figures are the steady state.
    warm = json.dumps([{"type": "warm-up"}]).encode()
    for _ in range(4 * args.connections):
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
        conn.request(
            "POST", path, warm, signed_headers(args.key_id, args.secret, "POST", path, warm, headers=json_type)
        )
        conn.getresponse().read()
        conn.close()
    threads = [threading.Thread(target=worker, args=(bodies[i :: args.connections],)) for i in range(args.connections)]
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    run_cpu = time.process_time() - cpu0
    print(
        json.dumps(
            {
                "events": len(events),
                "accepted": accepted[0],
                "requests": len(bodies),
                "statuses": statuses,
                "not_accepted": dict(outcomes.most_common(5)),
                "seconds": elapsed,
                "p50_ms": statistics.median(latencies) * 1000,
                "p99_ms": pct(latencies, 0.99) * 1000,
                "max_ms": max(latencies) * 1000,
                # Time in flight over connections x the run: how busy the client kept its connections.
                "busy": sum(latencies) / (args.connections * elapsed),
                "run_cpu_seconds": run_cpu,
            }
        )
    )


def wait_committed(want: int, timeout: float = 600) -> float:
    from cdr.models import CallEvent

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if CallEvent.objects.count() >= want:
            return time.monotonic()
        time.sleep(0.05)
    raise TimeoutError(f"only {CallEvent.objects.count()} of {want} events committed")


def wait_port(port: int, timeout: float = 30) -> None:
    from tests.support.processes import wait_port as wait

    wait(port, timeout)


def main(args: argparse.Namespace) -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # run the finally: below, stop the servers
    scratch_database(DB)
    import django

    django.setup()
    from celery import Celery

    from cdr import simulator
    from cdr.models import Call, CallEvent
    from cdr.services.gateways import gateway_create
    from cdr.simulator.oracle import distinct_event_count
    from cdr.sinks.lifecycle import CeleryLifecycleSink
    from cdr.sinks.publish import CeleryPublisher
    from tests.support.processes import RedisServer, Worker, free_port

    base_time = datetime.now(UTC)
    calls = simulator.generate(args.calls, seed=args.seed, base_time=base_time, time_scale=0.01)
    # What the log must hold after the HTTP run: distinct valid events (invalid ones are answered
    # "rejected" with the reason, not logged).
    from cdr.lifecycle.events import Event, parse_event

    parsed = [parse_event(e, received_at=base_time) for e in wire_events(args.calls, args.seed, base_time)]
    want = len({p.fingerprint for p in parsed if isinstance(p, Event)})
    invalid = sum(1 for p in parsed if not isinstance(p, Event))
    tenants = sorted({s.args[0].tenant_id for c in calls for s in c.steps if hasattr(s.args[0], "tenant_id")})
    issued = gateway_create(name="bench", tenant_ids=tenants)

    from calibrate import describe, machine_figures  # bench/, beside this file

    machine = describe(machine_figures(DB_URL))  # before the servers start: the figures compare runs
    tmp = Path(tempfile.mkdtemp(prefix="cdr-bench-http-"))
    redis = RedisServer(tmp / "redis")
    redis.start()
    env = server_env(tmp, database_url=DB_URL, broker_url=redis.url)
    port = free_port()
    server = gunicorn(env, port, workers=args.server_workers, threads=args.server_threads, config=args.gunicorn_config)
    worker = Worker(env, concurrency=args.worker_concurrency, nice=args.worker_nice)
    if not args.no_worker:
        worker.start()
    print(
        f"# cdr HTTP ingestion benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores (shared); "
        f"gunicorn {args.server_workers}x{args.server_threads}, "
        f"worker {'none' if args.no_worker else f'{args.worker_concurrency} processes at nice {args.worker_nice}'}, "
        f"load average before {os.getloadavg()[0]:.2f}"
    )
    print(machine)
    try:
        wait_port(port)
        time.sleep(3)  # worker ready
        t0 = time.monotonic()
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--client",
                "--port",
                str(port),
                f"--key-id={issued.gateway.key_id}",
                f"--secret={issued.secret}",  # a secret may start with "-": never a separate argument
                "--calls",
                str(args.calls),
                "--seed",
                str(args.seed),
                "--base-time",
                base_time.isoformat(),
                "--batch",
                str(args.batch),
                "--connections",
                str(args.connections),
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(out.stdout)
        if r["accepted"] != r["events"] - invalid:
            raise SystemExit(f"accepted {r['accepted']} of {r['events']} events: {r['statuses']} {r['not_accepted']}")
        print(
            f"HTTP: {r['events']:,} events ({want:,} distinct) in {r['requests']} batches of {args.batch} on "
            f"{args.connections} connections ({invalid} invalid ones rejected): accepted {r['accepted']:,} "
            f"in {r['seconds']:.2f}s = "
            f"{r['accepted'] / r['seconds']:,.0f} events/s accepted (goal 5,000); statuses {r['statuses']}"
        )
        print(
            f"HTTP response time: p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.1f} ms "
            f"(goal p99 < 100 ms)"
        )
        if args.no_worker:
            print("no worker: the accepted events stay queued in the database (the edge alone was measured)")
            return
        done = wait_committed(want)
        print(f"HTTP end to end: all committed after {done - t0:.2f}s = {want / (done - t0):,.0f} distinct events/s")

        CallEvent.objects.all().delete()
        Call.objects.all().delete()
        app = Celery("bench", broker=redis.url, set_as_current=False)
        app.conf.update(task_default_queue="cdr", task_serializer="json")
        sink = CeleryLifecycleSink(
            publisher=CeleryPublisher(app), spool_path=tmp / "sink.sqlite3", flush_seconds=0.1, batch_events=1000
        )
        calls = simulator.generate(args.calls, seed=args.seed + 1, base_time=datetime.now(UTC), time_scale=0.01)
        want_sink = distinct_event_count(calls)
        t0 = time.monotonic()
        stats = simulator.run(calls, sink, threads=4)
        fired = time.monotonic() - t0
        done = wait_committed(want_sink)
        sink.close(timeout=60)
        print(
            f"in-process sink, same machine: {stats.total:,} hook calls fired in {fired:.2f}s "
            f"({stats.total / fired:,.0f}/s accepted), {want_sink:,} distinct events committed after "
            f"{done - t0:.2f}s = {want_sink / (done - t0):,.0f} events/s end to end"
        )
        print(
            f"ratio HTTP accepted events/s : in-process sink end-to-end events/s = "
            f"{(r['accepted'] / r['seconds']) / (want_sink / (done - t0)):.2f}"
        )
    finally:
        worker.stop()
        server.terminate()
        server.wait(timeout=20)
        redis.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100, help="events per POST (at most 1,000)")
    parser.add_argument("--connections", type=int, default=2, help="concurrent keep-alive connections")
    # Processes rather than threads: request handling is CPU-bound Python (per-event validation).
    parser.add_argument("--server-workers", type=int, default=2)
    parser.add_argument("--server-threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--worker-nice", type=int, default=0, help="run the Celery worker at this nice level (the web server at 0)"
    )
    parser.add_argument("--worker-concurrency", type=int, default=2, help="Celery worker processes")
    parser.add_argument(
        "--no-worker", action="store_true", help="no Celery worker: measure the edge alone (nothing is committed)"
    )
    parser.add_argument("--gunicorn-config", help="a gunicorn config file (e.g. profiling hooks)")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--key-id", help=argparse.SUPPRESS)
    parser.add_argument("--secret", help=argparse.SUPPRESS)
    parser.add_argument("--base-time", help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    client(parsed) if parsed.client else main(parsed)
