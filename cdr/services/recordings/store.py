"""Recordings stored: an object recorded (idempotent), early ones linked to their call."""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from cdr import dispatch
from cdr.db.locks import calls_lock
from cdr.db.queries import one_of
from cdr.models import Call, Recording, WavStatus
from cdr.services.provenance import gateways_tenants, recording_counts
from cdr.services.rollups import rollups_mark
from cdr.services.tenants import tenants_ensure


def recording_store(
    *,
    tenant_id: int,
    call_id: str,
    fmt: str,
    codec: str,
    sample_rate: int,
    channels: int,
    size: int,
    sha256: str,
    storage_key: str,
    duration_ms: int | None = None,
    wav_ready: bool = False,
    gateway_id: int | None = None,
) -> tuple[Recording, bool]:
    """Record a stored object (idempotent on call_id + sha256); queue its WAV transcode after commit.

    ``gateway_id``: the gateway that posted it (None: the in-process sink, trusted). Its recording
    is linked to the call only if it may report the call's tenant, and never takes a tenant it may
    not report (the call row can appear between the edge's check and this).
    """
    with transaction.atomic():
        # Before any write: the call's lock orders this against a batch refreshing the call row.
        calls_lock([call_id])
        call = Call.objects.filter(call_id=call_id).values_list("id", "tenant_id").first()
        call_pk = call[0] if call is not None else None
        if gateway_id is not None:
            gateways = gateways_tenants([gateway_id])
            if tenant_id and tenant_id not in gateways[gateway_id][1]:
                tenant_id = 0
            if call is not None and not recording_counts(gateways, gateway_id, call_id=call_id, tenant_id=call[1]):
                call_pk = None
        tenants_ensure(tenant_ids=[tenant_id])
        recording, created = Recording.objects.get_or_create(
            call_id=call_id,
            sha256=sha256,
            defaults={
                "tenant_id": tenant_id,
                "call_leg_id": call_pk,
                "gateway_id": gateway_id,
                "format": fmt,
                "codec": codec,
                "sample_rate": sample_rate,
                "channels": channels,
                "bytes": size,
                "storage_key": storage_key,
                "duration_ms": duration_ms,
                "wav_key": storage_key if wav_ready else "",
                "wav_bytes": size if wav_ready else None,
                "wav_status": WavStatus.READY if wav_ready else WavStatus.PENDING,
            },
        )
        if created and call_pk is not None:
            Call.objects.filter(pk=call_pk, has_recording=False).update(has_recording=True, updated_at=timezone.now())
        if created:
            # Recording coverage counts this leg from now on (a no-op until the call row exists).
            rollups_mark(call_ids=[call_id])
        if created and not wav_ready:
            # robust: a broker or eager-transcode failure must not undo the stored upload;
            # `cdr.recordings_resume` re-queues transcodes left pending.
            dispatch.enqueue_on_commit(dispatch.RECORDING_TRANSCODE, recording.pk)
    return recording, created


def recordings_attach_calls(*, call_ids: list[str] | None = None, limit: int = 1000) -> int:
    """Link recordings that arrived before their call row; a tenant 0 becomes the call's.

    A gateway's recording only if that gateway may report the call's tenant (logged otherwise:
    it stays unlinked, at its own tenant). Three queries, then three or four per call linked.
    """
    orphans = Recording.objects.filter(call_leg__isnull=True)
    if call_ids is not None:
        orphans = orphans.filter(call_id__in=call_ids)
    calls = {
        call_id: (pk, tenant_id)
        for call_id, pk, tenant_id in Call.objects.filter(call_id__in=orphans.values("call_id")[:limit]).values_list(
            "call_id", "id", "tenant_id"
        )
    }
    if not calls:
        return 0
    rows = list(orphans.filter(one_of("call_id", calls.keys())).values_list("id", "call_id", "gateway_id"))
    gateways = gateways_tenants(g for _, _, g in rows if g is not None)
    warned: set[tuple[int, str]] = set()
    linked: dict[str, list[int]] = defaultdict(list)
    for pk, call_id, gateway_id in rows:
        if recording_counts(gateways, gateway_id, call_id=call_id, tenant_id=calls[call_id][1], warned=warned):
            linked[call_id].append(pk)
    attached = 0
    for call_id, pks in linked.items():
        call_pk, tenant_id = calls[call_id]
        with transaction.atomic():
            calls_lock([call_id])  # first: orders the call row's update and rollups_mark (which needs it)
            attached += Recording.objects.filter(one_of("pk", pks), call_leg__isnull=True).update(call_leg_id=call_pk)
            marked = Call.objects.filter(pk=call_pk, has_recording=False).update(
                has_recording=True, updated_at=timezone.now()
            )
            if marked:  # recording coverage reads has_recording (a gateway's tenant_ids were widened)
                rollups_mark(call_ids=[call_id])
            Recording.objects.filter(one_of("pk", pks), tenant_id=0).update(tenant_id=tenant_id)
    return attached
