"""The report's tables as CSV (the page's download links and the API's text/csv answer).

Machine-friendly on purpose: raw numbers (ratios 0..1, seconds, milliseconds, minutes), the unit in
the column name where it has one, "" for a call without the dim. The page formats them for people
(``cdr.reports.display``).
"""

from __future__ import annotations

from typing import Any

from cdr.reports.cells import csv_line
from cdr.reports.metrics import FIGURES

BREAKDOWN_FIGURES = ("attempts", "answered", "asr", "acd_s", "billable_minutes", "pdd_mean_ms")
BREAKDOWNS = {"directions": "direction", "scenarios": "scenario", "codecs": "codec"}
TABLES = ("buckets", "sip_codes", "initiators", *BREAKDOWNS)
OVERVIEW_FIGURES = ("attempts", "answered", "asr", "acd_s", "pdd_mean_ms", "billable_minutes")


def summary_rows(summary: dict[str, Any], table: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Header and rows of one table of a ``report_summary`` result."""
    if table == "buckets":
        return ["start", *FIGURES], summary["buckets"]
    if table == "sip_codes":
        return ["sip_code", "legs"], summary["sip_codes"]
    if table == "initiators":
        return ["initiator", "legs"], summary["initiators"]
    if table in BREAKDOWNS:
        return [BREAKDOWNS[table], *BREAKDOWN_FIGURES], summary[table]
    raise ValueError(table)


def summary_csv(summary: dict[str, Any], table: str) -> str:
    header, rows = summary_rows(summary, table)
    return "".join([csv_line(header), *(csv_line([row.get(name) for name in header]) for row in rows)])


def summary_filename(summary: dict[str, Any], table: str) -> str:
    return f"cdr-report-{summary['tenant']}-{summary['from']}-{summary['to']}-{summary['bucket']}-{table}.csv"


def overview_csv(overview: dict[str, Any]) -> str:
    header = ["tenant", "name", *OVERVIEW_FIGURES]
    return "".join([csv_line(header), *(csv_line([row[h] for h in header]) for row in overview["tenants"])])


def overview_filename(overview: dict[str, Any]) -> str:
    return f"cdr-report-tenants-{overview['from']}-{overview['to']}-utc.csv"
