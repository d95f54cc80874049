"""Ingest a batch of lifecycle events: validate, log the distinct ones, refresh their calls."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from cdr.lifecycle.events import Event, Rejected, parse_event
from cdr.models import CallEvent, EventStatus, IngestedBatch
from cdr.services.calls import calls_refresh
from cdr.services.locks import calls_lock
from cdr.services.tenants import tenants_ensure


@dataclass
class IngestResult:
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    # One entry per input event, in input order: ("accepted"|"duplicate"|"rejected", reason).
    outcomes: list[tuple[str, str]] = field(default_factory=list)


def _insert_sql() -> str:
    table = CallEvent._meta.db_table
    cols = "fingerprint, call_id, type, status, reason, observed_at, source, payload, received_at"
    least = "LEAST" if connection.vendor == "postgresql" else "MIN"
    # A repeat keeps one row with the earliest observation, whatever order the copies came in.
    return (
        f"INSERT INTO {table} ({cols}) VALUES {{values}} "
        f"ON CONFLICT (fingerprint) DO UPDATE SET "
        f"observed_at = {least}({table}.observed_at, excluded.observed_at)"
    )


def _rows(items: Sequence[Event | Rejected], source: str) -> list[list[Any]]:
    adapt = connection.ops.adapt_datetimefield_value
    now = adapt(timezone.now())
    rows = []
    for item in items:
        if isinstance(item, Event):
            status, reason, payload = EventStatus.ACCEPTED, "", item.payload
        else:
            status, reason, payload = EventStatus.REJECTED, item.reason, item.payload
        rows.append(
            [
                item.fingerprint,
                item.call_id,
                item.type,
                status,
                reason,
                adapt(item.observed_at),
                source,
                json.dumps(payload, separators=(",", ":")),
                now,
            ]
        )
    return rows


def _existing(fingerprints: list[str]) -> set[str]:
    return set(CallEvent.objects.filter(fingerprint__in=fingerprints).values_list("fingerprint", flat=True))


def _write_log(items: list[Event | Rejected], source: str) -> None:
    if not items:
        return
    rows = _rows(items, source)
    placeholder = "(" + ", ".join(["%s"] * len(rows[0])) + ")"
    sql = _insert_sql()
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            cursor.execute(
                sql.format(values=", ".join([placeholder] * len(chunk))),
                [value for row in chunk for value in row],
            )


def events_ingest(*, events: Sequence[Any], source: str = "sink", batch_id: str | None = None) -> IngestResult:
    """Store a batch of JSON lifecycle events and refresh every call they touch. Idempotent.

    Re-delivering the same batch (a broker redelivery, a re-POST) changes nothing: the log is
    keyed by content fingerprint and call records are recomputed from the log.
    """
    received_at = timezone.now()
    parsed = [parse_event(raw, received_at=received_at) for raw in events]
    # The same event twice in one batch: one row, the earliest observation wins.
    unique: dict[str, Event | Rejected] = {}
    for item in parsed:
        seen = unique.get(item.fingerprint)
        if seen is None or item.observed_at < seen.observed_at:
            unique[item.fingerprint] = item
    accepted = [p for p in unique.values() if isinstance(p, Event)]
    lock_ids = {e.call_id for e in accepted}
    lock_ids |= {e.call.correlation_id for e in accepted if e.call and e.call.correlation_id}
    result = IngestResult()
    with transaction.atomic():
        calls_lock(lock_ids)
        tenants_ensure(tenant_ids={e.call.tenant_id for e in accepted if e.call})
        existing = _existing(list(unique))
        _write_log(list(unique.values()), source)
        calls_refresh(
            call_ids={e.call_id for e in accepted if e.type != "bridge_started"},
            transfer_ids={e.call_id for e in accepted if e.type in ("transfer_started", "bridge_started")},
        )
        if batch_id:
            IngestedBatch.objects.bulk_create(
                [IngestedBatch(batch_id=batch_id, events=len(events))], ignore_conflicts=True
            )
    first_in_batch: set[str] = set()
    for item in parsed:
        if isinstance(item, Rejected):
            result.rejected += 1
            result.outcomes.append(("rejected", item.reason))
        elif item.fingerprint in existing or item.fingerprint in first_in_batch:
            result.duplicate += 1
            result.outcomes.append(("duplicate", ""))
        else:
            first_in_batch.add(item.fingerprint)
            result.accepted += 1
            result.outcomes.append(("accepted", ""))
    return result


def batches_purge(*, older_than_days: int | None = None) -> int:
    """Forget batch confirmations no sink can still be waiting for."""
    from datetime import timedelta

    from django.conf import settings

    days = older_than_days if older_than_days is not None else settings.CDR_INGESTED_BATCH_DAYS
    deleted, _ = IngestedBatch.objects.filter(committed_at__lt=timezone.now() - timedelta(days=days)).delete()
    return deleted
