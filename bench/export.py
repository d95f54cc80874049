"""Export benchmark: stream N call records as CSV and NDJSON from PostgreSQL over HTTP.

    .venv/bin/python bench/export.py [--database-url URL] [--rows 1000000]

Uses the 2M-row admin bench database (`cdr_admin_bench`, seeded by bench/admin.py or
`manage.py cdr_seed`), starts the project in its own process (`runserver --noreload`, DEBUG off),
reads the first N records of `GET /api/v1/calls/export` with a superuser token over loopback,
and prints rows/s and the server process's peak resident memory (VmHWM) against its RSS before
the export. Prints figures; asserts nothing. Goal (issue 6): > 50,000 rows/s, < 100 MB peak.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rss_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/cdr_admin_bench")
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from bench.measure import export_stream
    from cdr.models import Call
    from cdr.services.api_tokens import api_token_create
    from tests.support.processes import free_port, wait_port

    call_command("migrate", verbosity=0)
    have = Call.objects.count()
    if have < args.rows:
        sys.exit(f"the database holds {have:,} calls; seed {args.rows:,} first (bench/admin.py or cdr_seed)")
    user, _ = get_user_model().objects.get_or_create(
        username="bench-export", defaults={"is_staff": True, "is_superuser": True}
    )
    key = api_token_create(user=user, name="bench/export.py").key
    port = free_port()
    env = dict(
        os.environ,
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="bench-export",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_LOG_LEVEL="WARNING",
    )
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port, timeout=30)
        print(f"# export benchmark: {have:,} calls in the database, reading {args.rows:,} records per format")
        for fmt in ("csv", "ndjson"):
            before = rss_kb(server.pid, "VmRSS")
            elapsed, size, rows = export_stream(port, key, fmt, args.rows)
            if rows < args.rows:
                sys.exit(f"{fmt}: the export ended after {rows:,} lines")
            peak = rss_kb(server.pid, "VmHWM")
            print(
                f"{fmt:>6}: {args.rows:,} rows, {size / 1e6:,.0f} MB in {elapsed:.1f}s = "
                f"{args.rows / elapsed:,.0f} rows/s "
                f"(goal > 50,000); server RSS before {before / 1024:.0f} MB, peak {peak / 1024:.0f} MB "
                f"(goal < 100 MB)"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)
    in_process(args.rows)


def in_process(rows: int) -> None:
    """The two formatting paths without HTTP: what COPY saves over formatting rows in Python."""
    from cdr.api.calls_export import calls_export_chunks
    from cdr.models import Call

    last = Call.objects.order_by("started_at", "id").values_list("started_at", flat=True)[rows - 1]
    qs = Call.objects.filter(started_at__lte=last)
    n = qs.count()
    rates = {}
    for fmt in ("csv", "ndjson"):
        for fast in (True, False):
            t0 = time.perf_counter()
            for _ in calls_export_chunks(qs, fmt, fast=fast):
                pass
            rates[fmt, fast] = n / (time.perf_counter() - t0)
        print(
            f"{fmt:>6} in process, no HTTP: PostgreSQL COPY {rates[fmt, True]:,.0f} rows/s, "
            f"Python {rates[fmt, False]:,.0f} rows/s ({rates[fmt, True] / rates[fmt, False]:.1f}x)"
        )


if __name__ == "__main__":
    main()
