"""How fast this machine is today, against `shared/reference/measured-limits.md`.

The same machine kind has run up to 3x slower on some days, so a benchmark's absolute figure says
little without the machine's own figures from the same run. Measured here with plain psycopg on
the benchmark's database (a 15-column CDR-like row, unique call_id, an index on tenant + start):

- one INSERT per commit (bound by the disk sync; reference ~3,900 rows/s);
- INSERT ... ON CONFLICT DO UPDATE, 1,000 new rows per transaction (reference ~73,000 rows/s);
- a pure-Python loop (no reference figure: it is compared between runs).

    .venv/bin/python bench/calibrate.py [DATABASE_URL]
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

REFERENCE = {"commit_rows_s": 3_900, "upsert_rows_s": 73_000}

_TABLE = """
CREATE TEMP TABLE bench_calibrate (
    id bigserial PRIMARY KEY, call_id text UNIQUE NOT NULL, tenant_id bigint NOT NULL,
    started_at timestamptz NOT NULL, ended_at timestamptz, direction text, status text,
    from_uri text, to_uri text, sip_code int, duration_ms bigint, billable_ms bigint,
    pdd_ms int, hangup_cause text, gateway text, updated_at timestamptz NOT NULL
)"""
_COLUMNS = (
    "call_id, tenant_id, started_at, ended_at, direction, status, from_uri, to_uri, sip_code, "
    "duration_ms, billable_ms, pdd_ms, hangup_cause, gateway, updated_at"
)
_INSERT = f"INSERT INTO bench_calibrate ({_COLUMNS}) VALUES ({', '.join(['%s'] * 15)})"
_UPSERT = _INSERT + " ON CONFLICT (call_id) DO UPDATE SET status = EXCLUDED.status, updated_at = EXCLUDED.updated_at"


def _row(i: int, now: datetime) -> tuple[object, ...]:
    return (
        f"call-{i}@calibrate",
        i % 20,
        now,
        now,
        "inbound",
        "completed",
        f"sip:+1555{i:07d}@example.net",
        "sip:agent@example.net",
        200,
        61_000,
        60_000,
        850,
        "normal_clearing",
        "gw-1",
        now,
    )


def _python_loop_s() -> float:
    t = time.perf_counter()
    total = 0
    for i in range(2_000_000):
        total += i % 7
    return time.perf_counter() - t


def machine_figures(dsn: str, seconds: float = 1.0) -> dict[str, float]:
    """This machine's own figures, measured now (takes about 2 x ``seconds`` plus 1,000-row batches)."""
    import psycopg

    now = datetime.now(UTC)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(_TABLE)
        n = 0
        t = time.perf_counter()
        while time.perf_counter() - t < seconds:
            conn.execute(_INSERT, _row(n, now))  # autocommit: one commit (one disk sync) per row
            n += 1
        commit_rate = n / (time.perf_counter() - t)
        done = 0
        t = time.perf_counter()
        while time.perf_counter() - t < seconds:
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(_UPSERT, [_row(10_000_000 + done + i, now) for i in range(1000)])
            done += 1000
        upsert_rate = done / (time.perf_counter() - t)
    return {"commit_rows_s": commit_rate, "upsert_rows_s": upsert_rate, "python_loop_s": _python_loop_s()}


def describe(figures: dict[str, float]) -> str:
    return (
        f"this machine now: one INSERT per commit {figures['commit_rows_s']:,.0f} rows/s "
        f"({figures['commit_rows_s'] / REFERENCE['commit_rows_s']:.2f}x the reference ~3,900), "
        f"upsert 1,000 per transaction {figures['upsert_rows_s']:,.0f} rows/s "
        f"({figures['upsert_rows_s'] / REFERENCE['upsert_rows_s']:.2f}x the reference ~73,000), "
        f"a 2M-step Python loop {figures['python_loop_s'] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    print(
        describe(machine_figures(sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/postgres"))
    )
