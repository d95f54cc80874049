"""The Reports pages' tables as a person reads them: human column names, percentages, m:ss, local
period labels. Values come from the same summary the API and the CSVs give raw."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.http import QueryDict

from cdr.reports import display
from cdr.reports.tables import OVERVIEW_FIGURES, TABLES, summary_rows

TITLES = {
    "buckets": "Per period",
    "sip_codes": "Hangup causes by SIP code",
    "initiators": "Hangups by initiator",
    "directions": "By direction",
    "scenarios": "By scenario",
    "codecs": "By codec",
}
_KEYS = {"sip_code", "initiator", "direction", "scenario", "codec"}


def _column(name: str) -> dict[str, str]:
    return {"name": name, "label": display.COLUMNS.get(name, name), "hint": display.HINTS.get(name, "")}


def bucket_starts(summary: dict[str, Any]) -> list[datetime]:
    """Each bucket's local start in the report's zone (its abbreviation tells a repeated hour apart)."""
    tz = ZoneInfo(summary["tz"])
    return [datetime.fromisoformat(b["start"]).astimezone(tz) for b in summary["buckets"]]


def axis_labels(summary: dict[str, Any]) -> list[str]:
    return [display.axis_label(at, summary["bucket"], first=i == 0) for i, at in enumerate(bucket_starts(summary))]


def report_tables(summary: dict[str, Any], params: QueryDict) -> list[dict[str, Any]]:
    starts = bucket_starts(summary)
    tables = []
    for table in TABLES:
        header, rows = summary_rows(summary, table)
        cells = []
        for i, row in enumerate(rows):
            line = []
            for name in header:
                if name == "start":
                    line.append(display.row_label(starts[i], summary["bucket"]))
                elif name in _KEYS:
                    line.append("(none)" if row[name] in ("", None, "none") else str(row[name]))
                else:
                    line.append(display.cell(name, row[name]))
            cells.append(line)
        csv_params = params.copy()
        csv_params.update({"format": "csv", "table": table})
        tables.append(
            {
                "name": table,
                "title": TITLES[table],
                "columns": [_column(name) for name in header],
                "rows": cells,
                "csv": "?" + csv_params.urlencode(),
            }
        )
    return tables


def overview_table(overview: dict[str, Any], params: QueryDict) -> dict[str, Any]:
    """The tenants' rows with a sort link per column (a second click reverses it) and a report link."""
    columns = []
    for name in ("tenant", *OVERVIEW_FIGURES):
        order = overview["order"]
        sorted_here = order.lstrip("-") == name
        # Figures sort largest first on the first click, names A to Z.
        first = name if name == "tenant" else "-" + name
        link = params.copy()
        link["o"] = (name if order.startswith("-") else "-" + name) if sorted_here else first
        columns.append(
            {
                **_column(name),
                "sort": "?" + link.urlencode(),
                "sorted": ("descending" if order.startswith("-") else "ascending") if sorted_here else "",
            }
        )
    rows = []
    for row in overview["tenants"]:
        report = QueryDict(mutable=True)
        report.update({"tenant": str(row["tenant"]), "from": overview["from"], "to": overview["to"]})
        name = row["name"] or f"Tenant {row['tenant']}"
        rows.append(
            {
                "name": f"{name} ({row['tenant']})",
                "link": "?" + report.urlencode(),
                "cells": [display.cell(name, row[name]) for name in OVERVIEW_FIGURES],
            }
        )
    csv = params.copy()
    csv["format"] = "csv"
    return {"columns": columns, "rows": rows, "csv": "?" + csv.urlencode()}
