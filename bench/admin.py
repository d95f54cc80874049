"""Benchmark: the admin call list on 2,000,000 calls (PostgreSQL), server time per page.

Run by hand: ``.venv/bin/python bench/admin.py [--database-url URL] [--calls 2000000] [--runs 7]``.
Seeds the database with ``cdr_seed`` when it holds fewer calls than asked (a few minutes for 2M;
later runs reuse the rows). Each page is requested through Django's test client in this process:
the time is the whole server side (middleware, admin, queries, template rendering), without a
network. Prints the median and max of ``--runs`` requests after one warm-up, the number of SQL
queries per page, and flags any page whose SQL contains a COUNT.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BUDGET_MS = 300.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cdr_admin_bench")
    )
    parser.add_argument("--calls", type=int, default=2_000_000)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from bench.measure import page_time
    from cdr.admin.changelist import cursor_encode, estimated_rows
    from cdr.models import Call, TenantMembership

    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG = False
    if connection.vendor != "postgresql":
        sys.exit("bench/admin.py needs PostgreSQL (--database-url postgres://...)")
    call_command("migrate", verbosity=0)
    have = estimated_rows(Call) or 0
    if have < args.calls * 0.99:
        have = Call.objects.count()
    if have < args.calls * 0.99:
        print(f"seeding {args.calls - have:,} calls (have {have:,})...", flush=True)
        call_command("cdr_seed", calls=args.calls - have, tenants=args.tenants, days=30)
    total = estimated_rows(Call)
    print(f"cdr_call: about {total:,} rows (pg_class.reltuples)")

    from django.contrib.auth import get_user_model

    User = get_user_model()
    root, _ = User.objects.get_or_create(username="bench-root", defaults={"is_staff": True, "is_superuser": True})
    big_tenant, small_tenant = 1, args.tenants  # Zipf: tenant 1 is the largest, the last the smallest
    clients = {
        "superuser": Client(),
        f"staff of tenant {big_tenant} (big)": Client(),
        f"staff of tenant {small_tenant} (small)": Client(),
    }
    clients["superuser"].force_login(root)
    for name, tenant in (
        (f"staff of tenant {big_tenant} (big)", big_tenant),
        (f"staff of tenant {small_tenant} (small)", small_tenant),
    ):
        user, _ = User.objects.get_or_create(username=f"bench-staff-{tenant}", defaults={"is_staff": True})
        TenantMembership.objects.get_or_create(user=user, tenant_id=tenant)
        clients[name].force_login(user)

    def deep_cursor(tenant: int | None, depth: int) -> str:
        qs = Call.objects.order_by("-started_at", "-id")
        if tenant is not None:
            qs = qs.filter(tenant_id=tenant)
        row = qs.values_list("started_at", "id")[depth : depth + 1].first()
        return "?before=" + cursor_encode(*row) if row else "?"

    sample = (
        Call.objects.filter(tenant_id=small_tenant)
        .order_by("-started_at")
        .values_list("call_id", "remote_addr")
        .first()
    )
    recent_failed = Call.objects.filter(status="failed").order_by("-started_at").values_list("pk", flat=True).first()
    pages = [
        ("superuser", "first page, unfiltered", ""),
        ("superuser", "deep page (row 1,000,000)", deep_cursor(None, 1_000_000)),
        ("superuser", "deep page (row 1,900,000)", deep_cursor(None, 1_900_000)),
        ("superuser", "failed, 4xx, last 7 days", "?status__exact=failed&sip_class=4xx&range=7d"),
        ("superuser", "tenant filter (small tenant)", f"?tenant={small_tenant}"),
        ("superuser", "SIP code 503, outbound", "?sip_code=503&direction__exact=outbound"),
        ("superuser", "transferred = yes", "?transferred=yes"),
        ("superuser", "transferred = yes, failed (no match)", "?transferred=yes&status__exact=failed"),
        ("superuser", "SIP code 999 (no match)", "?sip_code=999"),
        ("superuser", "scenario = nope (no match)", "?scenario=nope"),
        ("superuser", "has recording = yes", "?recorded=yes"),
        ("superuser", "scenario = queue, initiator local", "?scenario=queue&hangup_initiator__exact=local"),
        ("superuser", "custom range (one day, 20 days ago)", "?start={}&end={}".format(*_day(20))),
        ("superuser", "search: exact Call-ID", f"?q={sample[0]}"),
        ("superuser", "search: Call-ID prefix (8 chars)", f"?q={sample[0][:8]}"),
        ("superuser", "search: remote IP prefix", f"?q={sample[1].rsplit(':', 1)[0]}"),
        (f"staff of tenant {big_tenant} (big)", "first page", ""),
        (f"staff of tenant {big_tenant} (big)", "deep page (row 500,000)", deep_cursor(big_tenant, 500_000)),
        (f"staff of tenant {big_tenant} (big)", "expired, last 30 days", "?status__exact=expired&range=30d"),
        (f"staff of tenant {small_tenant} (small)", "first page", ""),
        (f"staff of tenant {small_tenant} (small)", "deep page (last rows)", deep_cursor(small_tenant, 25_000)),
        (f"staff of tenant {small_tenant} (small)", "failed, 6xx", "?status__exact=failed&sip_class=6xx"),
        ("superuser", "call detail page", f"/admin/cdr/call/{recent_failed}/change/"),
        ("superuser", "active calls", "/admin/cdr/call/active/"),
        (f"staff of tenant {big_tenant} (big)", "active calls", "/admin/cdr/call/active/"),
    ]
    print(f"\n{'who':<26} {'page':<40} {'median ms':>9} {'max ms':>8} {'queries':>7}  notes")
    worst = 0.0
    for who, label, query in pages:
        client = clients[who]
        url = query if query.startswith("/") else "/admin/cdr/call/" + query
        median, longest, queries, counted = page_time(client, url, args.runs)
        if not query.startswith("/"):
            worst = max(worst, median)
        notes = ("COUNT(*)! " if counted else "") + ("over budget" if median > BUDGET_MS else "")
        print(f"{who:<26} {label:<40} {median:>9.1f} {longest:>8.1f} {queries:>7}  {notes}")
    print(f"\nworst median of the call-list pages: {worst:.1f} ms (budget {BUDGET_MS:.0f} ms)")
    with connection.cursor() as cursor:
        active = "status IN ('ringing', 'established')"
        cursor.execute(f"EXPLAIN SELECT id FROM cdr_call WHERE {active} ORDER BY started_at, id LIMIT 2001")
        plan = " / ".join(r[0].strip() for r in cursor.fetchall())
    print(f"active calls plan: {plan}")


def _day(days_ago: int) -> tuple[str, str]:
    from datetime import UTC, datetime, timedelta

    day = (datetime.now(UTC) - timedelta(days=days_ago)).date()
    return day.isoformat(), day.isoformat()


if __name__ == "__main__":
    main()
