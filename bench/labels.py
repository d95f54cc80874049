"""Labels benchmark: the export's COPY path with and without labels, and the label filter's plan.

    .venv/bin/python bench/labels.py [--database-url URL]

On a seeded database (``manage.py cdr_seed``): streams every call as CSV through the PostgreSQL
COPY path (rows/s) with the calls unlabelled, then gives every call three labels (from, to, did;
written back as ``{}`` at the end) and streams again; then times the label filter (first page of
100 calls for one caller number) and prints the index its plan uses. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
    from django.db import connection

    from cdr.api.calls_export import calls_export_chunks
    from cdr.models import Call
    from cdr.selectors import calls_with_labels

    def export_rate() -> tuple[int, float]:
        t = time.perf_counter()
        size = sum(len(chunk) for chunk in calls_export_chunks(Call.objects.all(), "csv", fast=True))
        return size, Call.objects.count() / (time.perf_counter() - t)

    size, bare = export_rate()
    print(f"COPY CSV, no labels:     {bare:10,.0f} rows/s ({size / 1e6:.1f} MB)")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE cdr_call SET labels = jsonb_build_object('from', '+336' || lpad((id % 100000000)::text, 8, '0'),"
            " 'to', '+3318' || lpad(tenant_id::text, 7, '0'), 'did', '+3318' || lpad(tenant_id::text, 7, '0'))"
        )
        cursor.execute("ANALYZE cdr_call")
    try:
        size, labelled = export_rate()
        print(f"COPY CSV, three labels:  {labelled:10,.0f} rows/s ({size / 1e6:.1f} MB); ratio {bare / labelled:.2f}x")
        number = "+336" + str(Call.objects.order_by("id").values_list("id", flat=True)[1000] % 100000000).zfill(8)
        qs = calls_with_labels(Call.objects.order_by("-started_at", "-id"), {"from": number})
        t = time.perf_counter()
        rows = list(qs[:100])
        print(f"label filter, one number: {len(rows)} calls in {(time.perf_counter() - t) * 1000:.1f} ms")
        plan = qs[:100].explain()
        print("plan uses cdr_call_labels:", "cdr_call_labels" in plan)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("UPDATE cdr_call SET labels = '{}'::jsonb")


if __name__ == "__main__":
    main()
