"""How the report page shows figures to a person: bucket labels, column names, units.

The page only: the API and the CSVs keep raw numbers and machine names (``metrics.FIGURES``).
Month and day names are English and fixed (not the server's locale), like the rest of the admin.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Human names of the figures (metrics.FIGURES and the breakdown keys), short enough for a 1366 px table.
COLUMNS = {
    "start": "Period",
    "attempts": "Calls",
    "answered": "Answered",
    "failed": "Failed",
    "asr": "ASR",
    "ner": "NER",
    "acd_s": "ACD",
    "billable_minutes": "Billable min",
    "pdd_mean_ms": "PDD",
    "pdd_p95_ms": "PDD p95",
    "inbound": "Inbound",
    "outbound": "Outbound",
    "transfers_attempted": "Transfers",
    "transfers_bridged": "Bridged",
    "recording_coverage": "Recorded",
    "peak_concurrent": "Peak concurrent",
    "sip_code": "SIP code",
    "legs": "Calls",
    "initiator": "Hung up by",
    "direction": "Direction",
    "scenario": "Scenario",
    "codec": "Codec",
    "tenant": "Tenant",
}
# What the short names mean, as the column's tooltip.
HINTS = {
    "asr": "answer-seizure ratio: answered / calls",
    "ner": "network effectiveness ratio",
    "acd_s": "average call duration of answered calls (m:ss)",
    "billable_minutes": "billable minutes of answered calls",
    "pdd_mean_ms": "mean post-dial delay (s)",
    "pdd_p95_ms": "95th percentile post-dial delay (s)",
    "recording_coverage": "answered calls with a recording",
    "peak_concurrent": "most calls in progress at one instant",
}
RATIOS = frozenset({"asr", "ner", "recording_coverage"})
NONE = "\u2013"  # an en dash, as the admin shows an empty value


def percent(ratio: float | None) -> str:
    return NONE if ratio is None else f"{ratio * 100:.1f} %"


def minutes_seconds(seconds: float | None) -> str:
    """``m:ss`` (``h:mm:ss`` from an hour), rounded to the second."""
    if seconds is None:
        return NONE
    total = round(max(seconds, 0))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def delay(ms: int | None) -> str:
    """A post-dial delay in seconds with one decimal: PDD lives in the 1-10 s range."""
    return NONE if ms is None else f"{ms / 1000:.1f} s"


def number(value: int | float | None) -> str:
    if value is None:
        return NONE
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


def cell(name: str, value: Any) -> str:
    """One figure as the page shows it."""
    if name in RATIOS:
        return percent(value)
    if name == "acd_s":
        return minutes_seconds(value)
    if name in ("pdd_mean_ms", "pdd_p95_ms"):
        return delay(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number(value)
    if value is None or value == "":
        return NONE
    return str(value)


def axis_label(start: datetime, bucket: str, *, first: bool = False) -> str:
    """A chart's tick: ``14:00`` hourly (the day, ``Mon 3``, where one begins), ``Mon 3`` daily,
    ``Dec 1`` weekly (the Monday), ``Dec`` monthly (``Dec 2026`` in January and on the first tick)."""
    if bucket == "hour":
        if first or (start.hour == 0 and start.minute == 0):
            return f"{_DAYS[start.weekday()]} {start.day} {start:%H:%M}"
        return f"{start:%H:%M}"
    if bucket == "day":
        return f"{_DAYS[start.weekday()]} {start.day}"
    if bucket == "week":
        return f"{_MONTHS[start.month - 1]} {start.day}"
    if bucket == "month":
        month = _MONTHS[start.month - 1]
        return f"{month} {start.year}" if first or start.month == 1 else month
    raise ValueError(bucket)


def row_label(start: datetime, bucket: str) -> str:
    """A table row's period, unambiguous on its own (the UTC offset tells a repeated hour apart)."""
    day = f"{_DAYS[start.weekday()]} {start.day} {_MONTHS[start.month - 1]}"
    if bucket == "hour":
        return f"{day} {start:%H:%M} {start.tzname()}"
    if bucket == "day":
        return f"{day} {start.year}"
    if bucket == "week":
        return f"Week of {day} {start.year}"
    if bucket == "month":
        return f"{_MONTHS[start.month - 1]} {start.year}"
    raise ValueError(bucket)
