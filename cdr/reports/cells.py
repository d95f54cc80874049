"""CSV cells a spreadsheet will not run as formulas (OWASP "CSV Injection"), one rule for every CSV.

Gateways write most text of a call record (Call-ID, correlation id, scenario, addresses, codec,
hangup reason) and the CSVs are opened in Excel, which evaluates a cell starting with ``=``, ``+``,
``-`` or ``@`` (tab and carriage return too: some programs strip them before looking). Such a
text cell gets a leading single quote, which the spreadsheet shows as text and hides.

Every CSV the product writes is made of ``csv_line``; the PostgreSQL ``COPY`` export applies the
same rule in SQL (``csv_text_sql``) and the same quoting (COPY's CSV mode). Numbers (int, float,
bool) are left as they are: a number cannot hold a formula, and a quoted ``'-5`` would no longer
sum. A field holding a CR is quoted too (the csv module leaves a lone CR bare with ``\\n`` line
ends, and a spreadsheet starts a new row there: a way around the quote). NDJSON and JSON are not
CSV and are unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_CODEPOINTS = ", ".join(str(ord(c)) for c in FORMULA_STARTS)
_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


def csv_text(text: str) -> str:
    """``text`` as a cell no spreadsheet evaluates."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_cell(value: Any) -> str:
    # PostgreSQL's COPY CSV rules: quote a field holding a delimiter, quote, CR or LF; JSON
    # spellings for booleans; NULL and "" both an empty cell.
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = csv_text(value) if isinstance(value, str) else str(value)
    if _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_line(values: Iterable[Any]) -> str:
    """One CSV row, ``\\n``-terminated, as PostgreSQL's ``COPY ... (FORMAT csv)`` writes it."""
    return ",".join([csv_cell(value) for value in values]) + "\n"


def csv_text_sql(column: str, otherwise: str | None = None) -> str:
    """SQL giving the text ``column`` as ``csv_text`` would, else ``otherwise`` (default: the column).

    ``ascii`` reads the first character only: a few ns a cell, which keeps ``COPY`` at its speed.
    """
    return f"CASE WHEN ascii({column}) IN ({_CODEPOINTS}) THEN '''' || {column} ELSE {otherwise or column} END"
