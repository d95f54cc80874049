"""Ingest a batch of lifecycle events: validate, log the distinct ones, refresh their calls."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from cdr.conf import cdr_setting
from cdr.db.bulk import bulk_upsert
from cdr.db.locks import calls_lock
from cdr.db.queries import one_of
from cdr.lifecycle.erase import event_mask
from cdr.lifecycle.events import Event, Rejected, parse_event
from cdr.lifecycle.handoff import event_wire
from cdr.metrics import ingest_outcomes_count
from cdr.models import ACTIVE_STATUSES, Call, CallEvent, CallStatus, EventStatus, IngestedBatch
from cdr.services.calls import calls_refresh
from cdr.services.owners import owners_bind
from cdr.services.provenance import event_scope
from cdr.services.tenants import tenants_ensure
from cdr.services.tombstones import calls_gone

log = logging.getLogger("cdr.ingest")

STORE_SOURCE_HTTP = "http"  # the source the HTTP queue's drain stores its events with


@dataclass
class IngestResult:
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    # One entry per input event, in input order: ("accepted"|"duplicate"|"rejected", reason).
    outcomes: list[tuple[str, str]] = field(default_factory=list)
    # The same, with the reason's class (cdr.metrics.REASONS) instead of the reason.
    kinds: list[tuple[str, str]] = field(default_factory=list)


Key = tuple[str, int]  # (fingerprint, scope): one logged copy per content and deliverer


def _key(item: Event | Rejected) -> Key:
    return item.fingerprint, event_scope(item.payload)


def _refuse(e: Event, reason: str) -> Rejected:
    return Rejected(e.type, e.call_id, e.fingerprint, e.observed_at, reason, e.payload, e.content_at)


def _write_log(items: list[Event | Rejected], source: str) -> None:
    now = timezone.now()
    rows = [
        {
            "fingerprint": item.fingerprint,
            "scope": event_scope(item.payload),
            "call_id": item.call_id,
            "type": item.type,
            "status": EventStatus.ACCEPTED if isinstance(item, Event) else EventStatus.REJECTED,
            "reason": "" if isinstance(item, Event) else item.reason,
            "observed_at": item.observed_at,
            "source": source,
            "payload": item.payload,
            "received_at": now,
            "content_at": item.content_at,
        }
        for item in items
    ]
    # Sorted: rejected events take no call lock, so two batches holding the same ones must lock
    # their rows in the same order.
    rows.sort(key=lambda r: (r["fingerprint"], r["scope"]))
    least = "LEAST" if connection.vendor == "postgresql" else "MIN"
    # A repeat keeps one row with the earliest observation, whatever order the copies came in.
    # content_at is a function of the content the fingerprint hashes, so this key is (fingerprint,
    # scope); it is in the key because the log is partitioned by it on PostgreSQL.
    bulk_upsert(
        CallEvent,
        rows,
        conflict=["fingerprint", "scope", "content_at"],
        update=["observed_at"],
        merge={"observed_at": least + "({old}, {new})"},
    )


def _existing(keys: Iterable[Key]) -> dict[Key, str]:
    """The status of each of these keys already in the log."""
    keys = set(keys)
    rows = CallEvent.objects.filter(one_of("fingerprint", {fp for fp, _ in keys})).values_list(
        "fingerprint", "scope", "status"
    )
    return {(fp, scope): status for fp, scope, status in rows if (fp, scope) in keys}


def _neighbours(call_ids: set[str]) -> tuple[set[str], set[str]]:
    """Stored calls a refresh of these calls writes too: their tenant-0 legs and their parents.

    Read before the batch takes its locks (one query), so it can lock them with its own calls.
    """
    if not call_ids:
        return set(), set()
    legs, parents = set(), set()
    rows = Call.objects.filter(Q(one_of("correlation_id", call_ids), tenant_id=0) | one_of("call_id", call_ids))
    for call_id, correlation_id, tenant_id in rows.values_list("call_id", "correlation_id", "tenant_id"):
        if tenant_id == 0 and correlation_id in call_ids:
            legs.add(call_id)
        if call_id in call_ids and correlation_id:
            parents.add(correlation_id)
    return legs, parents


def _wire(raw: Any) -> Any:
    return event_wire(raw) if isinstance(raw, Event) else raw


def _distinct(parsed: list[Event | Rejected]) -> dict[Key, Event | Rejected]:
    """The same event twice in one batch from one deliverer: one row, the earliest observation wins."""
    unique: dict[Key, Event | Rejected] = {}
    for item in parsed:
        key = _key(item)
        seen = unique.get(key)
        if seen is None or item.observed_at < seen.observed_at:
            unique[key] = item
    return unique


def events_ingest(*, events: Sequence[Any], source: str = "sink", batch_id: str | None = None) -> IngestResult:
    """Store a batch of JSON lifecycle events and refresh every call they touch. Idempotent.

    Re-delivering the same batch (a broker redelivery, a re-POST) changes nothing: the log is
    keyed by content fingerprint and who delivered it, and call records are recomputed from the log.
    """
    received_at = timezone.now()
    # An Event is one the HTTP edge validated (cdr.lifecycle.handoff): taken as it is.
    parsed = [raw if isinstance(raw, Event) else parse_event(raw, received_at=received_at) for raw in events]
    unique = _distinct(parsed)
    accepted = [p for p in unique.values() if isinstance(p, Event)]
    lock_ids = {e.call_id for e in accepted}
    lock_ids |= {e.call.correlation_id for e in accepted if e.call and e.call.correlation_id}
    result = IngestResult()
    with transaction.atomic():
        # Every call the refresh writes is locked here, in one sorted statement, before anything is
        # read: the legs and parents it would find in the log too (a leg waiting for its parent's
        # tenant, the parent of an agent leg whose transfers change). One committed in between is
        # found by calls_refresh, which then only tries its lock (see calls_try_lock).
        legs, parents = _neighbours({e.call_id for e in accepted})
        lock_ids |= legs | parents
        calls_lock(lock_ids)
        # Under the locks retention and erasure take too: a call they deleted or erased is seen.
        gone = calls_gone(items=unique.values())
        if gone.erased:
            parsed = [
                parse_event(event_mask(_wire(raw)), received_at=received_at) if item.call_id in gone.erased else item
                for raw, item in zip(events, parsed, strict=True)
            ]
            unique = _distinct(parsed)
        if gone.expired:
            unique = {k: item for k, item in unique.items() if item.call_id not in gone.expired}
            log.warning(
                "refused events of %d calls deleted by record retention, e.g. %s",
                len(gone.expired),
                next(iter(gone.expired.values())),
            )
        accepted = [p for p in unique.values() if isinstance(p, Event)]
        tenants_ensure(tenant_ids={e.call.tenant_id for e in accepted if e.call})
        existing = _existing(list(unique))
        # Which tenant a call belongs to is settled here, under its lock, by what is committed;
        # an event naming another one is logged as rejected (a copy already logged was judged).
        refused = owners_bind(events=[e for e in accepted if _key(e) not in existing])
        if refused:
            for key, item in unique.items():
                if isinstance(item, Event) and item.fingerprint in refused:
                    unique[key] = _refuse(item, refused[item.fingerprint])
            accepted = [e for e in accepted if e.fingerprint not in refused]
        _write_log(list(unique.values()), source)
        calls_refresh(
            # A copy already in the log is read back from it: the first delivery's gateway_id is the
            # one that counts, so a record never depends on which copy was seen last.
            known={k: e for e in accepted if (k := _key(e)) not in existing},
            # A copy of an accepted event may move its logged observation earlier (see _write_log).
            repeats=[e for e in accepted if existing.get(_key(e)) == EventStatus.ACCEPTED],
            call_ids={e.call_id for e in accepted if e.type != "bridge_started"},
            transfer_ids={e.call_id for e in accepted if e.type in ("transfer_started", "bridge_started")},
            locked=lock_ids,
        )
        if batch_id:
            IngestedBatch.objects.bulk_create(
                [IngestedBatch(batch_id=batch_id, events=len(events))], ignore_conflicts=True
            )
    rejected = [p for p in parsed if isinstance(p, Rejected)]
    if rejected:
        # Kept in the log (status "rejected"); logged so malformed gateway input is noticed.
        log.warning(
            "rejected %d of %d lifecycle events, e.g. %s: %s",
            len(rejected),
            len(parsed),
            rejected[0].call_id or "(no call id)",
            rejected[0].reason,
        )
    first_in_batch: set[Key] = set()
    for item in parsed:
        if item.call_id in gone.expired:
            result.rejected += 1
            result.outcomes.append(("rejected", gone.expired[item.call_id]))
            result.kinds.append(("rejected", "expired"))
            continue
        if isinstance(item, Event) and item.fingerprint in refused:
            item = _refuse(item, refused[item.fingerprint])
        if isinstance(item, Rejected):
            result.rejected += 1
            result.outcomes.append(("rejected", item.reason))
            result.kinds.append(("rejected", "tenant" if item.fingerprint in refused else "invalid"))
        elif (key := _key(item)) in existing or key in first_in_batch:
            result.duplicate += 1
            result.outcomes.append(("duplicate", ""))
            result.kinds.append(("duplicate", ""))
        else:
            first_in_batch.add(key)
            result.accepted += 1
            result.outcomes.append(("accepted", ""))
            result.kinds.append(("accepted", ""))
    # What the store made of the batch, counted once it is committed (a drain that rolls back and
    # runs again is counted once). HTTP events were counted by the edge already: "http_store" says
    # what became of them (a tenant refusal here is one the edge could not see).
    path = {"sink": "sink", STORE_SOURCE_HTTP: "http_store"}.get(source, "other")
    transaction.on_commit(partial(ingest_outcomes_count, path=path, outcomes=result.kinds))
    return result


def batches_purge(*, older_than_days: int | None = None) -> int:
    """Forget batch confirmations no sink can still be waiting for."""
    from datetime import timedelta

    days = older_than_days if older_than_days is not None else cdr_setting("CDR_INGESTED_BATCH_DAYS")
    deleted, _ = IngestedBatch.objects.filter(committed_at__lt=timezone.now() - timedelta(days=days)).delete()
    return deleted


def calls_expire(*, now: datetime | None = None, limit: int = 5000) -> int:
    """Close calls that never got an end: a synthetic ``expired`` event through the normal path."""
    now = now or timezone.now()
    ringing_cutoff = now - timedelta(seconds=cdr_setting("CDR_RINGING_TIMEOUT"))
    established_cutoff = now - timedelta(seconds=cdr_setting("CDR_ESTABLISHED_TIMEOUT"))
    stale = (
        Call.objects.filter(status__in=ACTIVE_STATUSES)
        .filter(
            Q(status=CallStatus.RINGING, started_at__lt=ringing_cutoff)
            | Q(status=CallStatus.ESTABLISHED, started_at__lt=established_cutoff)
        )
        .annotate(last_seen=Coalesce("established_at", "ringing_at", "started_at"))
        .values_list("call_id", "last_seen")[:limit]
    )
    events = [
        {
            "type": "expired",
            "call_id": call_id,
            "ended_at": last_seen.isoformat(),
            "observed_at": now.isoformat(),
        }
        for call_id, last_seen in stale
    ]
    with transaction.atomic():
        if events:
            events_ingest(events=events, source="sweeper")
    return len(events)
