"""Read paths. Views, commands and the API call these; none of them scans without an index."""

from __future__ import annotations

import operator
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from functools import reduce
from typing import Any

from django.db import connections
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.lookups import Exact

from cdr.lifecycle.labels import CONVENTIONAL, MAX_VALUE
from cdr.models import Call, CallEvent
from cdr.reports.columns import CALL_COLUMNS, TIME_COLUMNS, labels_sorted

# The call record's own fields (the first columns of every export; see CALL_COLUMNS for all).
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
TIME_FIELDS = TIME_COLUMNS


def tenant_legs(tenant_id: int) -> Q:
    """The calls of ``tenant_id`` and the tenant-0 agent legs of its calls (``correlation_id``): a
    leg whose gateway may not report the tenant keeps 0 instead of inheriting it, and belongs to
    the call all the same (record retention deletes it with the call, erasure by Call-ID erases it)."""
    parent = Call.objects.filter(call_id=OuterRef("correlation_id"), tenant_id=tenant_id)
    return Q(tenant_id=tenant_id) | (Q(tenant_id=0) & ~Q(correlation_id="") & Exists(parent))


def rfc3339(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def calls_with_labels(qs: QuerySet[Call], labels: Mapping[str, str]) -> QuerySet[Call]:
    """Calls carrying every one of these labels (exact key and value).

    PostgreSQL: ``labels @> '{"k": "v", ...}'``, served by the GIN index ``cdr_call_labels``. Other
    databases (SQLite, the embedded default) compare each key's text.
    """
    if not labels:
        return qs
    return qs.filter(labels_q(labels, db=qs.db))


def labels_q(labels: Mapping[str, str], *, db: str = "default") -> Q:
    """The condition of ``calls_with_labels``: ``@>`` on PostgreSQL (the GIN index), each key's
    text elsewhere (each key as one JSON path step: "a__b" is no nested lookup here)."""
    if connections[db].vendor == "postgresql":
        return Q(labels__contains=dict(labels))
    return Q(*[Exact(KeyTextTransform(key, "labels"), value) for key, value in labels.items()])


def label_values_q(value: str, *, db: str = "default", keys: Sequence[str] = CONVENTIONAL) -> Q:
    """Calls whose label ``keys`` (default: from, to, did, campaign) has this exact ``value``: one
    ``@>`` per key on PostgreSQL, each served by the GIN index (a bitmap OR)."""
    if len(value) > MAX_VALUE:
        return Q(pk__in=[])
    if connections[db].vendor == "postgresql":
        return reduce(operator.or_, [Q(labels__contains={key: value}) for key in keys])
    return reduce(operator.or_, [Q(Exact(KeyTextTransform(key, "labels"), value)) for key in keys])


def calls_filter(
    *,
    tenant_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    labels: Mapping[str, str] | None = None,
) -> QuerySet[Call]:
    """Calls by start time (``since`` inclusive, ``until`` exclusive), on the tenant+start index,
    carrying ``labels`` (all of them)."""
    qs = Call.objects.all()
    if tenant_id is not None:
        qs = qs.filter(tenant_id=tenant_id)
    if since is not None:
        qs = qs.filter(started_at__gte=since)
    if until is not None:
        qs = qs.filter(started_at__lt=until)
    return calls_with_labels(qs, labels or {})


def call_records_iter(
    qs: QuerySet[Call], *, fields: Sequence[str] = CALL_COLUMNS, chunk_size: int = 2000
) -> Iterator[dict[str, Any]]:
    """Stream records in (started_at, id) order with a server-side cursor: constant memory."""
    times = [name for name in fields if name in TIME_FIELDS]
    labelled = "labels" in fields
    rows = qs.order_by("started_at", "id").values_list(*fields).iterator(chunk_size=chunk_size)
    for row in rows:
        record = dict(zip(fields, row, strict=True))
        for name in times:
            record[name] = rfc3339(record[name])
        if labelled:
            record["labels"] = labels_sorted(record["labels"])
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
