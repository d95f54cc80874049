"""Record retention: delete the call records of each tenant past its ``record_retention_days``.

Everything that hangs on a call goes with it (events, hangup, transfers, agent legs, those left
with tenant 0 included, the call's owner binding, its report ledger row, its recordings and their
stored objects); the report rollups stay: they are aggregates, and retention applies any pending
share first so they keep counting the deleted calls exactly once. A call under an active ``LegalHold`` is kept.

Deletes run per tenant over a UTC-day cutoff, oldest first, ``CDR_RECORD_RETENTION["BATCH_CALLS"]``
calls per transaction, each committed on its own: a time range of one tenant, what a partition
drop will replace. Each batch takes the per-call locks ingestion takes, so a batch storing events
of the same calls either commits first (and its rows are deleted with the call) or finds the call
gone. The tenant's ``records_purged_before`` is committed before the first delete: from then on
ingestion refuses an event of a call started before it that is not stored (``calls_gone``)
instead of recreating a stub record, and ``cdr_reports_rebuild`` keeps the rollups before it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from cdr.conf import cdr_setting
from cdr.db.locks import calls_lock
from cdr.db.queries import one_of
from cdr.models import (
    Call,
    CallEvent,
    CallFold,
    CallOwner,
    DeletionKind,
    Hangup,
    LegalHold,
    RecordDeletion,
    Recording,
    RecordingAccess,
    ReportPending,
    ReportShare,
    Tenant,
    Transfer,
)
from cdr.selectors.calls import tenant_legs
from cdr.services.partitions import event_partitions_drop
from cdr.services.peaks import report_peaks_refresh
from cdr.services.recordings.retention import recording_objects_delete
from cdr.services.rollups import rollups_refresh
from cdr.storage.backend import recordings_storage

log = logging.getLogger("cdr.retention")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def call_held() -> Exists:
    """True for a call (or a row with a ``call_id``) under an active legal hold."""
    return Exists(LegalHold.objects.filter(call_id=OuterRef("call_id"), released_at__isnull=True))


def records_cutoff(*, days: int, now: datetime) -> datetime:
    """The UTC midnight before which a policy of ``days`` has expired every record."""
    return (now - timedelta(days=days)).astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class Deleted:
    calls: int = 0
    events: int = 0
    recordings: int = 0


def _raw_delete(qs: QuerySet[Any]) -> int:
    # One DELETE statement: Django's delete() would first read every row (and its cascades).
    return qs._raw_delete(qs.db)  # type: ignore[attr-defined,no-any-return]


def calls_delete(*, tenant_id: int, call_ids: list[str], storage: Any) -> Deleted:
    """Delete these calls of ``tenant_id`` (not held) with all their rows and stored recordings.

    Run inside a transaction. Takes the calls' locks first (and rereads them under the locks, so a
    hold placed meanwhile wins), applies their pending rollup shares, then deletes. The agent legs
    of these calls (``correlation_id``) go with them: those of the tenant, and those left with
    tenant 0 (``tenant_legs``), which would otherwise stay as orphans no tenant's policy reaches.
    """
    held = call_held()
    mine = tenant_legs(tenant_id)
    legs = Call.objects.filter(one_of("correlation_id", call_ids)).filter(mine).values_list("call_id", flat=True)
    wanted = set(call_ids) | set(legs)
    calls_lock(wanted)
    live = dict(Call.objects.filter(one_of("call_id", wanted)).filter(mine).filter(~held).values_list("call_id", "id"))
    if not live:
        return Deleted()
    ids, pks = sorted(live), sorted(live.values())
    # A share not applied yet would be lost with its ledger row: apply it, so the rollups count
    # each deleted call exactly as it was.
    pending = list(ReportPending.objects.filter(one_of("call_id", ids)).values_list("call_id", flat=True))
    if pending:
        rollups_refresh(call_ids=pending)
    recordings = Recording.objects.filter(
        one_of("call_leg_id", pks) | (one_of("call_id", ids) & (Q(tenant_id=tenant_id) | Q(tenant_id=0)))
    )
    objects = list(recordings.values_list("id", "storage_key", "wav_key", "deleted_at"))
    rec_pks = [r[0] for r in objects]
    out = Deleted(calls=len(pks))
    if rec_pks:
        _raw_delete(RecordingAccess.objects.filter(one_of("recording_id", rec_pks)))
        out.recordings = _raw_delete(Recording.objects.filter(one_of("pk", rec_pks)))
    # Another tenant's recording linked to one of these legs (cdr.services.provenance) stays.
    Recording.objects.filter(one_of("call_leg_id", pks)).update(call_leg=None)
    out.events = _raw_delete(CallEvent.objects.filter(one_of("call_id", ids)))
    _raw_delete(CallOwner.objects.filter(one_of("call_id", ids)))
    _raw_delete(CallFold.objects.filter(one_of("call_id", ids)))
    _raw_delete(ReportPending.objects.filter(one_of("call_id", ids)))
    _raw_delete(ReportShare.objects.filter(one_of("call_id", pks)))
    _raw_delete(Hangup.objects.filter(one_of("call_id", pks)))
    _raw_delete(Transfer.objects.filter(one_of("inbound_id", pks)))
    Transfer.objects.filter(one_of("outbound_id", pks)).update(outbound=None)
    _raw_delete(Call.objects.filter(one_of("pk", pks)))
    # Last: a failed delete of an object rolls the rows back, and the next run tries again
    # (deleting an object already gone is no error).
    for _, key, wav_key, deleted_at in objects:
        if deleted_at is None:
            recording_objects_delete(storage=storage, storage_key=key, wav_key=wav_key)
    return out


def horizon_publish(*, tenant_id: int, cutoff: datetime) -> None:
    """Committed before the first delete, and only ever moved forward (a longer policy cannot bring
    deleted records back, nor make their late events welcome)."""
    Tenant.objects.filter(id=tenant_id).filter(
        Q(records_purged_before__isnull=True) | Q(records_purged_before__lt=cutoff)
    ).update(records_purged_before=cutoff)


def tenant_records_purge(
    *, tenant_id: int, days: int, now: datetime, batch_calls: int, actor: str, user: Any = None
) -> RecordDeletion:
    """One tenant's run: publish the horizon, settle peaks, delete batch by batch, audit."""
    cutoff = records_cutoff(days=days, now=now)
    with transaction.atomic():
        horizon_publish(tenant_id=tenant_id, cutoff=cutoff)
        audit = RecordDeletion.objects.create(
            tenant_id=tenant_id,
            kind=DeletionKind.RETENTION,
            actor=actor[:100],
            user=user,
            policy=f"record_retention_days={days}",
            cutoff=cutoff,
            started_at=now,
        )
    # Peaks are recomputed from the raw rows: settle the slots still dirty before the rows go.
    report_peaks_refresh(tenant_id=tenant_id, lo=_EPOCH, hi=cutoff)
    storage = recordings_storage()
    expired = Call.objects.filter(tenant_id=tenant_id, started_at__lt=cutoff).filter(~call_held())
    after: tuple[datetime, int] | None = None
    while True:
        # Keyset, never OFFSET nor "the oldest again": rows just deleted stay in the index as dead
        # entries until vacuum, and rescanning them from the start each batch grows quadratically.
        page = expired
        if after is not None:
            page = page.filter(started_at__gte=after[0]).exclude(started_at=after[0], id__lte=after[1])
        rows = list(page.order_by("started_at", "id").values_list("started_at", "id", "call_id")[:batch_calls])
        if not rows:
            break
        after = rows[-1][:2]
        batch = [r[2] for r in rows]
        with transaction.atomic():
            done = calls_delete(tenant_id=tenant_id, call_ids=batch, storage=storage)
            RecordDeletion.objects.filter(pk=audit.pk).update(
                calls=F("calls") + done.calls,
                events=F("events") + done.events,
                recordings=F("recordings") + done.recordings,
            )
        if len(batch) < batch_calls:
            break
    held = Call.objects.filter(tenant_id=tenant_id, started_at__lt=cutoff).filter(call_held()).count()
    RecordDeletion.objects.filter(pk=audit.pk).update(finished_at=timezone.now(), held=held)
    audit.refresh_from_db()
    if audit.calls:
        log.info(
            "record retention of tenant %s (%s days, before %s): deleted %d calls, %d events, %d recordings; %d held",
            tenant_id,
            days,
            cutoff.date(),
            audit.calls,
            audit.events,
            audit.recordings,
            held,
        )
    return audit


def records_purge(
    *,
    now: datetime | None = None,
    tenant_id: int | None = None,
    batch_calls: int | None = None,
    actor: str = "task cdr.records_purge",
    user: Any = None,
) -> list[RecordDeletion]:
    """Delete expired records of every tenant with a record retention (or of one); one audit row each."""
    now = now or timezone.now()
    batch_calls = batch_calls or cdr_setting("CDR_RECORD_RETENTION")["BATCH_CALLS"]
    tenants = Tenant.objects.filter(record_retention_days__isnull=False)
    if tenant_id is not None:
        tenants = tenants.filter(id=tenant_id)
    policies = list(tenants.order_by("id").values_list("id", "record_retention_days"))
    # Every horizon first: the event log's months that all of them have passed are dropped whole
    # (PostgreSQL; cdr.services.partitions), and the batches below find their events gone.
    for t, days in policies:
        with transaction.atomic():
            horizon_publish(tenant_id=t, cutoff=records_cutoff(days=days, now=now))
    event_partitions_drop()
    return [
        tenant_records_purge(tenant_id=t, days=days, now=now, batch_calls=batch_calls, actor=actor, user=user)
        for t, days in policies
    ]
