"""Streamed CSV and NDJSON bodies of the export: rows are buffered into ~64 KB chunks."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from cdr.selectors import RECORD_FIELDS

_CHUNK = 64 * 1024
EXPORT_FORMATS = {"csv": "text/csv; charset=utf-8", "ndjson": "application/x-ndjson"}


def csv_stream(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=RECORD_FIELDS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow(record)
        if buf.tell() >= _CHUNK:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def ndjson_stream(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    lines: list[str] = []
    size = 0
    for record in records:
        line = json.dumps(record, separators=(",", ":")) + "\n"
        lines.append(line)
        size += len(line)
        if size >= _CHUNK:
            yield "".join(lines)
            lines, size = [], 0
    yield "".join(lines)


STREAMS = {"csv": csv_stream, "ndjson": ndjson_stream}
