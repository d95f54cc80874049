"""Timing helpers shared by the benchmarks (admin pages, report figures, the export stream)."""

from __future__ import annotations

import statistics
import time
import urllib.request
from collections.abc import Callable
from typing import Any


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def median_ms(fn: Callable[[], Any], runs: int) -> tuple[float, float]:
    """Median and max milliseconds of ``runs`` calls of ``fn`` after one warm-up call."""
    fn()
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), max(times)


def page_time(client: Any, url: str, runs: int) -> tuple[float, float, int, bool]:
    """One admin page through Django's test client: median ms, max ms, SQL queries, and whether any
    of them is an unbounded COUNT. One warm-up request (which must answer 200) first."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.get("Location"))
    connection.queries_log.clear()  # a full log (maxlen 9000) would hide every new query
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    queries = ctx.captured_queries  # a property over the live log: read it before the next request
    counted = any("COUNT(" in q["sql"].upper() and "LIMIT" not in q["sql"].upper() for q in queries)
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), max(times), len(queries), counted


def export_stream(port: int, key: str, fmt: str, rows: int) -> tuple[float, int, int]:
    """Read the first ``rows`` records of ``GET /api/v1/calls/export`` over loopback: seconds, bytes, rows."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/calls/export?format={fmt}", headers={"Authorization": f"Bearer {key}"}
    )
    began = time.perf_counter()
    # Blocks, not lines: the client shares the 2 cores and must not be the bottleneck.
    # Newlines count rows (the seeded fields hold none); csv: +1 for the header.
    want = rows + (fmt == "csv")
    got = size = 0
    with urllib.request.urlopen(request, timeout=600) as response:
        while got < want:
            block = response.read(1 << 20)
            if not block:
                break
            got += block.count(b"\n")
            size += len(block)
    return time.perf_counter() - began, size, got - (fmt == "csv")
