"""Benchmark: migration 0023 on PostgreSQL, the pause to convert an existing event log (seconds per
million rows).

Run by hand: ``.venv/bin/python bench/partition_convert.py [--events 1000000] [--database-url URL]``.
Creates its own database (default ``cdr_partition_bench``, dropped and made anew), migrates it to
0022 (the unpartitioned log), seeds ``cdr_seed`` calls over the last 180 days and three events per
call (ringing, established, bye, with the payloads ingestion stores), then times ``migrate cdr
0023``: the table is locked (ACCESS EXCLUSIVE) for all of it. Prints rows, seconds, seconds per
million rows and the partitions made.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.retention import EVENTS_SQL  # noqa: E402

# The 0022 table has no content_at: the same rows without it.
SEED_EVENTS_SQL = EVENTS_SQL.replace(",\n                           content_at)", ")").replace(
    "now(), c.started_at", "now()"
)


def _manage(url: str, *args: str) -> None:
    env = dict(os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="project.settings")
    subprocess.run([sys.executable, "manage.py", *args, "-v", "0"], cwd=ROOT, env=env, check=True)


def main() -> None:
    import psycopg

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/cdr_partition_bench")
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        sys.exit("bench/partition_convert.py needs PostgreSQL (--database-url postgres://...)")
    parts = urlparse(args.database_url)
    name = parts.path.lstrip("/")
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    _manage(args.database_url, "migrate", "cdr", "0022")
    began = time.perf_counter()
    _manage(args.database_url, "cdr_seed", "--calls", str(args.events // 3), "--days", "180", "--tenants", "5")
    with psycopg.connect(args.database_url) as conn:
        conn.execute(SEED_EVENTS_SQL)
        conn.execute("ANALYZE cdr_callevent")
        rows = conn.execute("SELECT count(*) FROM cdr_callevent").fetchone()[0]
        size = conn.execute("SELECT pg_total_relation_size('cdr_callevent')").fetchone()[0]
    print(f"seeded {rows:,} events ({size / 2**20:,.0f} MiB with indexes) in {time.perf_counter() - began:.0f} s")
    began = time.perf_counter()
    _manage(args.database_url, "migrate", "cdr", "0023")
    seconds = time.perf_counter() - began
    with psycopg.connect(args.database_url) as conn:
        after = conn.execute("SELECT count(*) FROM cdr_callevent").fetchone()[0]
        parts_n = conn.execute(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'cdr_callevent'::regclass"
        ).fetchone()[0]
    assert after == rows, (after, rows)
    print(
        f"migrate cdr 0023: {rows:,} rows into {parts_n} partitions in {seconds:.1f} s "
        f"({seconds / rows * 1e6:.1f} s per million rows, the table locked throughout)"
    )


if __name__ == "__main__":
    main()
