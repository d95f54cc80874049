"""Read paths. Views, commands and the API call these; none of them scans without an index."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from cdr.models import Call, CallEvent

# The call record as exported (CLI, REST API): field order is the CSV column order.
RECORD_FIELDS = (
    "call_id",
    "correlation_id",
    "tenant_id",
    "direction",
    "scenario",
    "status",
    "remote_addr",
    "local_ip",
    "codec",
    "started_at",
    "ringing_at",
    "established_at",
    "ended_at",
    "duration_ms",
    "billable_ms",
    "pdd_ms",
    "hangup_initiator",
    "sip_code",
    "hangup_reason",
)
# Call timestamps, written as RFC 3339 UTC in every export.
TIME_FIELDS = frozenset({"started_at", "ringing_at", "established_at", "ended_at", "updated_at"})


def rfc3339(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def calls_filter(
    *, tenant_id: int | None = None, since: datetime | None = None, until: datetime | None = None
) -> QuerySet[Call]:
    """Calls by start time (``since`` inclusive, ``until`` exclusive), on the tenant+start index."""
    qs = Call.objects.all()
    if tenant_id is not None:
        qs = qs.filter(tenant_id=tenant_id)
    if since is not None:
        qs = qs.filter(started_at__gte=since)
    if until is not None:
        qs = qs.filter(started_at__lt=until)
    return qs


def call_records_iter(
    qs: QuerySet[Call], *, fields: Sequence[str] = RECORD_FIELDS, chunk_size: int = 2000
) -> Iterator[dict[str, Any]]:
    """Stream records in (started_at, id) order with a server-side cursor: constant memory."""
    times = [name for name in fields if name in TIME_FIELDS]
    rows = qs.order_by("started_at", "id").values_list(*fields).iterator(chunk_size=chunk_size)
    for row in rows:
        record = dict(zip(fields, row, strict=True))
        for name in times:
            record[name] = rfc3339(record[name])
        yield record


def _named_tenant(payload: Any) -> int:
    meta = payload.get("call") if isinstance(payload, dict) else None
    tenant_id = meta.get("tenant_id") if isinstance(meta, dict) else 0
    return tenant_id if isinstance(tenant_id, int) else 0


def call_events_visible(*, call: Call, tenant_ids: set[int] | None) -> list[CallEvent]:
    """The event log of ``call``, oldest first, as a viewer of ``tenant_ids`` (None: all) may see it.

    Another tenant's copy of the Call-ID (refused by ``cdr.services.owners``) is that tenant's data,
    not this call's: superusers only.
    """
    events = list(CallEvent.objects.filter(call_id=call.call_id).order_by("observed_at", "id"))
    if tenant_ids is None:
        return events
    return [e for e in events if _named_tenant(e.payload) in (0, call.tenant_id)]
