"""python manage.py cdr_seed --calls 2000000 [--tenants N] [--days D] [--seed S]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from cdr.management.progress import Progress
from cdr.management.seed import calls_seed

# Multi-row INSERTs into SQLite manage a few tens of thousands of rows a second: past this, say so.
SQLITE_LIMIT = 200_000


class Command(BaseCommand):
    help = (
        "Write realistic call records (with hangups and transfers) straight into the tables, for "
        "benchmarks. PostgreSQL: COPY, about a million calls a minute. SQLite: INSERTs, up to "
        f"{SQLITE_LIMIT:,} calls unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--calls", type=int, required=True, help="number of call legs to write")
        parser.add_argument("--tenants", type=int, default=20, help="tenants 1..N, a few large and a long tail")
        parser.add_argument("--days", type=float, default=30, help="spread start times over the last D days")
        parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same rows)")
        parser.add_argument("--first-tenant", type=int, default=1, help="id of the first tenant")
        parser.add_argument("--force", action="store_true", help=f"allow more than {SQLITE_LIMIT:,} on SQLite")

    def handle(self, *args: Any, **options: Any) -> None:
        calls, tenants, days = options["calls"], options["tenants"], options["days"]
        if calls < 0 or tenants < 1 or days <= 0:
            raise CommandError("--calls must be >= 0, --tenants >= 1 and --days > 0")
        if connection.vendor != "postgresql" and calls > SQLITE_LIMIT and not options["force"]:
            raise CommandError(
                f"{connection.vendor} has no COPY: {calls:,} calls would take long. Use PostgreSQL "
                f"(DATABASE_URL=postgres://...), fewer than {SQLITE_LIMIT:,} calls, or --force."
            )
        with Progress(self.stderr, total=calls, unit="calls", verbosity=options["verbosity"]) as progress:
            result = calls_seed(
                calls=calls,
                tenants=tenants,
                days=days,
                seed=options["seed"],
                first_tenant=options["first_tenant"],
                progress=progress.advance_to,
            )
        self.stdout.write(
            f"seeded {result.calls:,} calls, {result.hangups:,} hangups, {result.transfers:,} transfers "
            f"for {result.tenants} tenants in {result.seconds:.1f} s ({result.rate:,.0f} calls/s, {result.method})"
        )
