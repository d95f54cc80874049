"""In-process ingest profile: Python CPU, wall and queries per event of ``events_ingest``.

    .venv/bin/python bench/ingest_profile.py [--batches 20] [--history 200] [--profile 25]

On a scratch PostgreSQL database `cdr_profile` (dropped and re-created), no broker, no worker:
the store's own cost per batch. Two cases:

* fresh traffic: simulated calls (the simulator's mix), their events in time order, posted in
  batches of 1,000 (a call's events often straddle two batches, as from a real sink);
* grown histories: batches of 5 new events, each on a call that already has ``--history`` events,
  next to the same batches on calls that have 1 event. A write path whose cost follows the new
  events gives a ratio near 1.

Prints figures and ratios; asserts nothing. ``--profile N`` prints the N costliest functions of
the fresh case by own time (cProfile, a separate run: its overhead is not in the figures).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB = "cdr_profile"
os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
BASE = datetime(2026, 11, 3, 8, tzinfo=UTC)


def reset_db() -> None:
    for sql in (f"DROP DATABASE IF EXISTS {DB}", f"CREATE DATABASE {DB}"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)


def simulated_events(n_events: int, seed: int) -> list[dict[str, Any]]:
    """Simulated hook calls as JSON events, in the order of their moments (calls interleave)."""
    from cdr import simulator
    from cdr.lifecycle.encode import encode_hook_call

    calls = simulator.generate(n_events // 3 + 10, seed=seed, base_time=BASE, time_scale=0.05)
    timed = []
    for sim in calls:
        for step in sim.steps:
            at = simulator.step_time(sim, step)
            timed.append((at, len(timed), sim, step))
    timed.sort(key=lambda t: (t[0], t[1]))
    out = []
    for at, _, sim, step in timed[:n_events]:
        ns = int(at.timestamp() * 1e9)
        out.append(encode_hook_call(str(step.method), step.args, ns, sim.labels.get(step.leg)))
    return out


def call_json(call_id: str) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "direction": "inbound",
        "tenant_id": 7,
        "remote_addr": "203.0.113.5:5060",
        "local_ip": "10.0.0.2",
        "codec": "pcma",
        "started_at": BASE.isoformat(),
    }


def re_invite(call_id: str, i: int) -> dict[str, Any]:
    """A distinct event of a long call: a re-INVITE whose labels changed (one content each)."""
    at = BASE + timedelta(seconds=1 + i * 0.01)
    return {
        "type": "established",
        "observed_at": at.isoformat(),
        "call": {**call_json(call_id), "labels": {"step": str(i)}},
    }


class Figures:
    def __init__(self) -> None:
        self.cpu = self.wall = 0.0
        self.queries = self.events = self.batches = 0

    def line(self, name: str) -> str:
        return (
            f"{name}: {self.batches} batches, {self.events} events: "
            f"{self.cpu / self.events * 1e6:,.1f} us CPU/event, {self.wall / self.events * 1e6:,.1f} us wall/event, "
            f"{self.queries / self.batches:.1f} queries/batch, {self.queries / self.events:.3f} queries/event"
        )


def measure(batches: list[list[dict[str, Any]]], ingest: Callable[[list[dict[str, Any]]], Any]) -> Figures:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    f = Figures()
    for batch in batches:
        with CaptureQueriesContext(connection) as ctx:
            c0, w0 = time.process_time(), time.perf_counter()
            ingest(batch)
            f.cpu += time.process_time() - c0
            f.wall += time.perf_counter() - w0
        f.queries += len(ctx.captured_queries)
        f.events += len(batch)
        f.batches += 1
    return f


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=20, help="fresh batches of 1,000 events")
    parser.add_argument("--history", type=int, default=200, help="events per call before the small batches")
    parser.add_argument("--small", type=int, default=40, help="batches of 5 events per history case")
    parser.add_argument("--profile", type=int, default=0, help="print the N costliest functions (fresh case)")
    args = parser.parse_args()
    reset_db()
    import django

    django.setup()
    import logging

    from cdr.services.events import events_ingest

    logging.getLogger("cdr.ingest").setLevel(logging.ERROR)  # the simulator's invalid re-INVITEs

    def ingest(batch: list[dict[str, Any]]) -> Any:
        return events_ingest(events=batch, source="sink")

    print(f"# cdr in-process ingest profile, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores")
    warm = simulated_events(1000, seed=99)
    ingest(warm)  # imports, caches, first connection
    events = simulated_events(1000 * args.batches, seed=1)
    fresh = [events[i : i + 1000] for i in range(0, len(events), 1000)]
    print(measure(fresh, ingest).line("fresh traffic, 1,000-event batches"))

    # Grown histories: 5 calls per small batch, one new event each.
    n_calls = 5 * args.small
    for label, history in (("1", 1), (str(args.history), args.history)):
        prefix = f"h{history}-"
        seed_events = [re_invite(f"{prefix}{c}@gw", i) for c in range(n_calls) for i in range(history)]
        for i in range(0, len(seed_events), 1000):
            ingest(seed_events[i : i + 1000])
        small = [
            [re_invite(f"{prefix}{c}@gw", history + 1 + b) for c in range(b * 5, b * 5 + 5)] for b in range(args.small)
        ]
        figures = measure(small, ingest)
        print(figures.line(f"5 new events on calls with {label} event(s) each"))
        if history == 1:
            base = figures
        else:
            print(
                f"cost of a 5-event batch, calls with {history} events : calls with 1 event = "
                f"CPU {figures.cpu / base.cpu:.1f}x, wall {figures.wall / base.wall:.1f}x, "
                f"queries {figures.queries / base.queries:.2f}x (flat = 1.0x)"
            )

    if args.profile:
        events = simulated_events(1000 * args.batches, seed=2)
        profiler = cProfile.Profile()
        profiler.enable()
        for i in range(0, len(events), 1000):
            ingest(events[i : i + 1000])
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.profile)
        print(out.getvalue())


if __name__ == "__main__":
    main()
