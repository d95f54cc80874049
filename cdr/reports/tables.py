"""The report's tables as CSV (the page's download links and the API's text/csv answer)."""

from __future__ import annotations

from typing import Any

from cdr.reports.cells import csv_line
from cdr.reports.metrics import FIGURES

TABLES = ("buckets", "sip_codes", "initiators")


def summary_rows(summary: dict[str, Any], table: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Header and rows of one table of a ``report_summary`` result."""
    if table == "buckets":
        return ["start", *FIGURES], summary["buckets"]
    if table == "sip_codes":
        return ["sip_code", "legs"], summary["sip_codes"]
    if table == "initiators":
        return ["initiator", "legs"], summary["initiators"]
    raise ValueError(table)


def summary_csv(summary: dict[str, Any], table: str) -> str:
    header, rows = summary_rows(summary, table)
    return "".join([csv_line(header), *(csv_line([row.get(name) for name in header]) for row in rows)])


def summary_filename(summary: dict[str, Any], table: str) -> str:
    return f"cdr-report-{summary['tenant']}-{summary['from']}-{summary['to']}-{summary['bucket']}-{table}.csv"
