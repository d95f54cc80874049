"""Recordings stored: an object recorded (idempotent), a spooled file uploaded (or an object another
host put recorded), early ones linked to their call."""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.files.storage import Storage
from django.db import transaction
from django.utils import timezone

from cdr import dispatch
from cdr.conf import cdr_setting
from cdr.db.locks import calls_lock
from cdr.db.queries import one_of
from cdr.models import Call, Recording, WavStatus
from cdr.services.provenance import gateways_tenants, recording_counts
from cdr.services.rollups import rollups_mark
from cdr.services.tenants import tenants_ensure
from cdr.storage.backend import recordings_storage
from cdr.storage.spool import RecordingSpool

log = logging.getLogger("cdr.recordings")


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


# What a spool entry's meta (and a ``cdr.recording_upload`` message) must carry to record its object.
_META_KEYS = ("call_id", "tenant_id", "format", "codec", "sample_rate", "channels", "bytes", "sha256", "key")


def _object_stored(storage: Storage, m: dict[str, Any]) -> bool:
    """Whether the object of entry ``m`` is complete in storage (put by this or another process).

    A content-addressed key (it holds the SHA-256) of the right size is this very recording: S3
    shows an object only once its PUT completed, and the size check covers a local file cut short.
    A taps WAV's key is one per call: only its recorded row proves which content is there.
    """
    if not storage.exists(m["key"]) or storage.size(m["key"]) != m["bytes"]:
        return False
    if m["sha256"] in m["key"]:
        return True
    return Recording.objects.filter(call_id=m["call_id"], sha256=m["sha256"], storage_key=m["key"]).exists()


def _record(m: dict[str, Any]) -> Recording:
    recording, _ = recording_store(
        tenant_id=m["tenant_id"],
        call_id=m["call_id"],
        fmt=m["format"],
        codec=m["codec"],
        sample_rate=m["sample_rate"],
        channels=m["channels"],
        size=m["bytes"],
        sha256=m["sha256"],
        storage_key=m["key"],
        duration_ms=m.get("duration_ms"),
        wav_ready=m.get("wav_ready", False),
        gateway_id=m.get("gateway_id"),
    )
    return recording


def recording_upload_spooled(
    *, name: str, spool_dir: str | Path | None = None, meta: dict[str, Any] | None = None
) -> Recording | None:
    """Upload one spooled file to its deterministic key and record it; None if there is nothing to do.

    Without the entry on this host's disk, ``meta`` (the entry's, from a ``cdr.recording_upload``
    message) is enough once the spooling process put the bytes in storage: ``recording_stored_record``.
    """
    put = recording_spooled_put(name=name, spool_dir=spool_dir)
    if put is None:
        return None if meta is None else recording_stored_record(meta=meta)
    return recording_spooled_record(name=name, spool_dir=spool_dir, meta=put)


def recording_spooled_put(*, name: str, spool_dir: str | Path | None = None) -> dict[str, Any] | None:
    """Put a spool entry's bytes at their key, before anything touches the database; its meta
    (what is left to record) or None when the entry is not in this spool."""
    entry = RecordingSpool(spool_dir or cdr_setting("CDR_RECORDINGS")["SPOOL_DIR"]).get(name)
    if entry is None:
        return None
    m = entry.meta
    storage = recordings_storage()
    # An object already there is not written again: an in-place overwrite would pull the file
    # from under a transcode reading it (cdr.media.mapped_file).
    if not _object_stored(storage, m):
        with open(entry.blob_path, "rb") as f:
            saved = storage.save(m["key"], File(f, name=m["key"]))
        if saved != m["key"]:
            raise RuntimeError(f"storage saved {m['key']!r} as {saved!r}: the recordings storage must allow overwrites")
    return m


def recording_spooled_record(*, name: str, spool_dir: str | Path | None = None, meta: dict[str, Any]) -> Recording:
    """Record a spool entry already put in storage, then drop it from the spool (last: a crash in
    between leaves it to a retry, which overwrites nothing and records once)."""
    recording = _record(meta)
    RecordingSpool(spool_dir or cdr_setting("CDR_RECORDINGS")["SPOOL_DIR"]).remove(name)
    return recording


def recording_stored_record(*, meta: dict[str, Any]) -> Recording | None:
    """Record the object another process put at ``meta["key"]`` (its spool entry's meta).

    Idempotent: the recorded row when there is one. None when the object is not in storage: the
    process that spooled it never got it there, and its own spool still holds the bytes (its retry
    thread uploads them; docs/operations.md, "Scaling workers").
    """
    missing = [k for k in _META_KEYS if k not in meta]
    if missing:
        raise ValueError(f"recording meta without {', '.join(missing)}")
    if not str(meta["key"]).startswith("recordings/"):
        raise ValueError(f"recording key {meta['key']!r} is outside recordings/")
    done = Recording.objects.filter(call_id=meta["call_id"], sha256=meta["sha256"]).first()
    if done is not None:
        return done
    if not _object_stored(recordings_storage(), meta):
        log.info("recording %s of %s is not in storage: left to the host that spooled it", meta["key"], meta["call_id"])
        return None
    return _record(meta)


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
