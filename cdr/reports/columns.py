"""The one shape of a call record in every export: ``cdr_export``, the admin's CSV action, the API's
list (``?format=csv|ndjson``) and ``/export`` (both its PostgreSQL ``COPY`` path and its Python path).

Same columns, same order, same cells everywhere (docs/records.md describes them column by column):
times RFC 3339 in UTC with a ``Z`` (microseconds only when there are any), empty cells for "none",
text cells neutralised against spreadsheet formulas (``cdr.reports.cells``), and the labels as one
JSON object, keys in code-point order (empty when the call has none). Pure: no Django here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cdr.reports.cells import csv_line

# (column, what it holds): the order is the CSV's column order and the NDJSON's key order.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("call_id", "The leg's SIP Call-ID (the gateway's CallID), unique."),
    ("correlation_id", "The inbound Call-ID an agent leg belongs to; a campaign's own id; else empty."),
    ("tenant_id", "The gateway's TenantID, an unsigned 64-bit integer (0: not resolved)."),
    ("direction", "inbound or outbound."),
    ("scenario", "The gateway's scenario name (e.g. transfer_agent, campaign), or empty."),
    ("status", "ringing, established, completed, failed or expired."),
    ("remote_addr", "The far end's address (host:port) as the gateway reported it."),
    ("local_ip", "The gateway's local address."),
    ("codec", "The negotiated codec, lower case (pcma, pcmu, g722, opus)."),
    ("started_at", "When the call started (the gateway's StartedAt)."),
    ("ringing_at", "When ringing was first observed; empty without ringing."),
    ("established_at", "When the call was answered; empty if never."),
    ("ended_at", "When the deciding BYE or failure ended it; empty while live."),
    ("duration_ms", "ended_at - started_at, in milliseconds; empty while live."),
    ("billable_ms", "ended_at - established_at in milliseconds (0 if never answered); empty while live."),
    ("pdd_ms", "Post-dial delay, ringing_at - started_at, in milliseconds; empty without ringing."),
    ("hangup_initiator", "local, remote or unknown; empty while live."),
    ("sip_code", "The deciding end's SIP status (100..699); empty when none was given."),
    ("hangup_reason", "The deciding end's reason text, as sent."),
    ("transferred", "true when the inbound leg has at least one transfer attempt, else false."),
    ("has_recording", "true when a recording of the call was stored (even if retention deleted it since)."),
    ("updated_at", "When the record was last written (the API's change feed orders by it)."),
    ("labels", 'The call\'s labels, one JSON object, keys sorted: {"did":"+33184000007","from":"+336..."}; or empty.'),
)
CALL_COLUMNS: tuple[str, ...] = tuple(name for name, _ in COLUMNS)
TIME_COLUMNS = frozenset({"started_at", "ringing_at", "established_at", "ended_at", "updated_at"})


def labels_sorted(labels: Mapping[str, str] | None) -> dict[str, str]:
    """Labels in code-point order of their keys (what every export writes)."""
    return dict(sorted(labels.items())) if labels else {}


def labels_json(labels: Mapping[str, str] | None) -> str:
    """The labels cell: compact JSON, keys sorted, UTF-8 as written (as PostgreSQL's ``to_json``)."""
    return json.dumps(labels_sorted(labels), ensure_ascii=False, separators=(",", ":"))


def csv_header() -> str:
    return csv_line(CALL_COLUMNS)


def record_csv_line(record: Mapping[str, Any]) -> str:
    """One record (times already RFC 3339 text, as ``call_records_iter`` gives) as a CSV row."""
    return csv_line([_cell(record, name) for name in CALL_COLUMNS])


def _cell(record: Mapping[str, Any], name: str) -> Any:
    if name == "labels":
        return labels_json(record[name]) if record[name] else None
    return record[name]


def record_ndjson_line(record: Mapping[str, Any]) -> str:
    """One record as an NDJSON line (ensure_ascii=False: UTF-8 as PostgreSQL's to_json writes it)."""
    shaped = {name: labels_sorted(record[name]) if name == "labels" else record[name] for name in CALL_COLUMNS}
    return json.dumps(shaped, ensure_ascii=False, separators=(",", ":")) + "\n"
