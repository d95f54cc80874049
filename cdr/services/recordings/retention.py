"""Recording rules: retention purge with legal hold, per-tenant policy, holds placed and released."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from cdr.models import LegalHold, Recording, RecordingPolicy
from cdr.selectors.recordings import recording_policies_forget
from cdr.services.tenants import tenants_ensure
from cdr.storage.backend import recordings_storage
from cdr.storage.keys import waveform_key


def recordings_purge(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Delete stored objects past their tenant's retention; keep the rows with ``deleted_at``.

    A call under an active legal hold is exempt. Returns the number of recordings purged.
    """
    now = now or timezone.now()
    storage = recordings_storage()
    held = Exists(LegalHold.objects.filter(call_id=OuterRef("call_id"), released_at__isnull=True))
    purged = 0
    policies = RecordingPolicy.objects.filter(retention_days__isnull=False).values_list("tenant_id", "retention_days")
    for tenant_id, days in policies:
        expired = Recording.objects.filter(
            tenant_id=tenant_id, deleted_at__isnull=True, created_at__lt=now - timedelta(days=days)
        ).filter(~held)
        while True:
            batch = list(expired.order_by("created_at").values_list("id", "storage_key", "wav_key")[:batch_size])
            for pk, key, wav_key in batch:
                # Mark first, delete inside the same transaction: a failed delete rolls the mark
                # back and the next run tries again; a hold placed meanwhile wins.
                with transaction.atomic():
                    if Recording.objects.filter(pk=pk, deleted_at__isnull=True).filter(~held).update(deleted_at=now):
                        recording_objects_delete(storage=storage, storage_key=key, wav_key=wav_key)
                        purged += 1
            if len(batch) < batch_size:
                break
    return purged


def recording_objects_delete(*, storage: Any, storage_key: str, wav_key: str) -> None:
    """Delete a recording's stored objects: the original, its WAV and the WAV's cached waveform.

    Idempotent (deleting a missing key is not an error), so a rolled-back caller can run it again.
    The one place that knows which objects a recording has: retention, record retention and
    erasure all delete through it.
    """
    cached = waveform_key(wav_key) if wav_key else ""
    for k in {storage_key, wav_key, cached} - {None, ""}:
        storage.delete(k)


def recording_policy_set(*, tenant_id: int, enabled: bool = True, retention_days: int | None = None) -> RecordingPolicy:
    tenants_ensure(tenant_ids=[tenant_id])
    policy, _ = RecordingPolicy.objects.update_or_create(
        tenant_id=tenant_id, defaults={"enabled": enabled, "retention_days": retention_days}
    )
    recording_policies_forget()
    return policy


def legal_hold_place(*, call_id: str, reason: str = "", user: Any = None) -> LegalHold:
    hold, _ = LegalHold.objects.update_or_create(
        call_id=call_id, defaults={"reason": reason, "placed_by": user, "released_at": None}
    )
    return hold


def legal_hold_release(*, call_id: str) -> int:
    return LegalHold.objects.filter(call_id=call_id, released_at__isnull=True).update(released_at=timezone.now())
