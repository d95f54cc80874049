"""Write paths for recordings: store, upload from the spool, transcode, hand out links, purge."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from cdr.media import DecodeError, RecordingFormatError, WavWriter, decode_to_wav, mapped_file
from cdr.media.waveform import WaveformError, waveform_peaks, waveform_svg
from cdr.models import (
    AccessPurpose,
    Call,
    LegalHold,
    Recording,
    RecordingAccess,
    RecordingPolicy,
    WavStatus,
)
from cdr.queries import one_of
from cdr.selectors_recordings import (
    recording_link_sign,
    recording_policies_forget,
    recording_visible_to,
    recordings_storage,
    storage_is_s3,
)
from cdr.services.locks import calls_lock
from cdr.services.provenance import gateways_tenants, recording_counts
from cdr.services.rollups import rollups_mark
from cdr.services.tenants import tenants_ensure
from cdr.sinks.recording_spool import RecordingSpool

log = logging.getLogger("cdr.recordings")

_EXTENSIONS = {"sn3": "sn3", "stereo_pcm": "pcm"}
WAVEFORM_SUFFIX = ".waveform.svg"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class RecordingUnavailable(Exception):
    """The recording exists but the asked-for file does not (deleted, or no WAV)."""


# --- keys --------------------------------------------------------------------------------------
def recording_call_dir(*, tenant_id: int, call_id: str, day: date) -> str:
    """``recordings/<tenant>/<yyyy>/<mm>/<dd>/<call>``; the hash keeps two sanitised ids apart."""
    safe = _UNSAFE.sub("_", call_id)[:80].strip("._") or "call"
    tag = hashlib.sha1(call_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"recordings/{tenant_id}/{day:%Y/%m/%d}/{safe}-{tag}"


def recording_key(*, tenant_id: int, call_id: str, day: date, sha256: str, fmt: str) -> str:
    """Deterministic key of an original: a retried upload overwrites it, never adds a copy."""
    ext = _EXTENSIONS.get(fmt) or _UNSAFE.sub("", fmt.lower())[:12] or "bin"
    return f"{recording_call_dir(tenant_id=tenant_id, call_id=call_id, day=day)}/{sha256}.{ext}"


def taps_key(*, tenant_id: int, call_id: str, day: date) -> str:
    """Key of the WAV built from a call's PCM taps (one per call)."""
    return f"{recording_call_dir(tenant_id=tenant_id, call_id=call_id, day=day)}/taps.wav"


def waveform_key(wav_key: str) -> str:
    """Where a WAV's rendered waveform is cached: next to it, under a key derived from it."""
    return f"{wav_key}{WAVEFORM_SUFFIX}"


def spool_name(*, call_id: str, sha256: str | None = None) -> str:
    tag = hashlib.sha1(call_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{sha256}-{tag}" if sha256 else f"taps-{tag}"


# --- store ---------------------------------------------------------------------------------------
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
            from cdr.tasks_recordings import recording_transcode

            pk = recording.pk
            # robust: a broker or eager-transcode failure must not undo the stored upload;
            # `cdr.recordings_resume` re-queues transcodes left pending.
            transaction.on_commit(lambda: recording_transcode.delay(pk), robust=True)
    return recording, created


def recording_upload_spooled(*, name: str, spool_dir: str | Path | None = None) -> Recording | None:
    """Upload one spooled file to its deterministic key and record it; None if already done."""
    spool = RecordingSpool(spool_dir or settings.CDR_RECORDINGS["SPOOL_DIR"])
    entry = spool.get(name)
    if entry is None:
        return None
    m = entry.meta
    storage = recordings_storage()
    # A retry of an upload already recorded (the key holds the SHA-256) is not written again: an
    # in-place overwrite would pull the file from under a transcode reading it (cdr.media.mapped_file).
    done = Recording.objects.filter(call_id=m["call_id"], sha256=m["sha256"], storage_key=m["key"]).exists()
    if not (done and storage.exists(m["key"])):
        with open(entry.blob_path, "rb") as f:
            saved = storage.save(m["key"], File(f, name=m["key"]))
        if saved != m["key"]:
            raise RuntimeError(f"storage saved {m['key']!r} as {saved!r}: the recordings storage must allow overwrites")
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
    spool.remove(name)
    return recording


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


# --- transcode -----------------------------------------------------------------------------------
_CHUNK = 1 << 20  # bytes read or downloaded at once: what a transcode holds of its original


@contextmanager
def _original_path(storage: Storage, key: str) -> Iterator[str]:
    """A local file holding the stored original, which is never read into memory as a whole.

    Local files are used where they are (``path()`` alone is no proof of a file: InMemoryStorage
    has one too). S3 objects are streamed to a temp file in chunks: reading through S3File would
    first download the whole object into memory (django-storages spools it to disk only past
    AWS_S3_MAX_MEMORY_SIZE, which defaults to 0: never). Any other storage is copied through its
    File in chunks.
    """
    if isinstance(storage, FileSystemStorage):
        yield storage.path(key)
        return
    with tempfile.NamedTemporaryFile(prefix="cdr-original-") as tmp, storage.open(key, "rb") as f:
        if storage_is_s3(storage) and not (getattr(storage, "gzip", False) and f.obj.content_encoding == "gzip"):
            from s3transfer.constants import ALLOWED_DOWNLOAD_ARGS

            # The GET parameters S3File would use (SSE-C keys, for instance).
            wanted = storage.get_object_parameters(f.name).items()
            params = {k: v for k, v in wanted if k in ALLOWED_DOWNLOAD_ARGS}
            body = f.obj.get(**params)["Body"]
            try:
                for chunk in body.iter_chunks(_CHUNK):
                    tmp.write(chunk)
            finally:
                body.close()
        else:
            for chunk in f.chunks(_CHUNK):
                tmp.write(chunk)
        tmp.flush()
        yield tmp.name


def _stereo_pcm_to_wav(src: BinaryIO, recording: Recording, out: BinaryIO) -> float:
    """The app-defined stereo PCM artifact: a WAV already, or interleaved PCM16 LE stereo.

    Copied in chunks of _CHUNK bytes (a multiple of the 4-byte stereo frame).
    """
    if src.read(4) == b"RIFF":
        src.seek(0)
        shutil.copyfileobj(src, out, _CHUNK)
        return 0.0
    if recording.channels != 2 or recording.sample_rate <= 0:
        raise RecordingFormatError(
            f"stereo_pcm needs 2 channels and a sample rate, got {recording.channels} ch at {recording.sample_rate} Hz"
        )
    src.seek(0, os.SEEK_END)
    frames = src.tell() // 4
    src.seek(0)
    import numpy as np

    with WavWriter(out, recording.sample_rate, channels=2, n_frames=frames) as writer:
        left = frames * 4
        while left and (chunk := src.read(min(_CHUNK, left))):
            writer.write(np.frombuffer(chunk, dtype="<i2"))
            left -= len(chunk)
    return frames / recording.sample_rate


def _wav_from_original(path: str, recording: Recording, out: BinaryIO) -> tuple[float, tuple[str, ...]]:
    """Write the WAV of the original at ``path`` to ``out``: (duration in s, warnings)."""
    if recording.format == "stereo_pcm":
        with open(path, "rb") as src:
            return _stereo_pcm_to_wav(src, recording, out), ()
    # Mapped read-only: the decoder reads frames from the page cache, not from a copy in memory.
    with mapped_file(path) as blob:
        report = decode_to_wav(blob, recording.codec, out, snap_ms=settings.CDR_RECORDINGS["SNAP_MS"])
    return report.duration_s, report.warnings


def recording_transcode(*, recording_id: int) -> Recording | None:
    """Decode the stored original into a 16-bit stereo WAV stored next to it (idempotent).

    Memory stays bounded whatever the recording's length: the original is decoded from a local
    file (the stored one, or a chunked download) and the WAV goes to a temp file before storage.
    """
    recording = Recording.objects.filter(pk=recording_id).first()
    if recording is None or recording.deleted_at is not None or recording.wav_status != WavStatus.PENDING:
        return recording
    storage = recordings_storage()
    with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
        try:
            with _original_path(storage, recording.storage_key) as path:
                duration_s, warnings = _wav_from_original(path, recording, tmp)
        except DecodeError as exc:
            log.info("recording %s has no WAV: %s", recording.pk, exc)
            Recording.objects.filter(pk=recording.pk, wav_status=WavStatus.PENDING).update(
                wav_status=WavStatus.FAILED, wav_error=str(exc)[:2000]
            )
            recording.refresh_from_db()
            return recording
        size = tmp.tell()
        tmp.seek(0)
        wav_key = recording.storage_key.rsplit(".", 1)[0] + ".wav"
        storage.save(wav_key, File(tmp, name=wav_key))
    Recording.objects.filter(pk=recording.pk).update(
        wav_key=wav_key,
        wav_bytes=size,
        wav_status=WavStatus.READY,
        wav_error="",
        wav_warnings="\n".join(warnings),
        duration_ms=round(duration_s * 1000) if duration_s else recording.duration_ms,
    )
    recordings_attach_calls(call_ids=[recording.call_id])
    recording.refresh_from_db()
    return recording


def recordings_resume(*, older_than: timedelta = timedelta(minutes=10), limit: int = 500) -> int:
    """Re-queue transcodes still pending (a lost message) and link orphans; returns re-queued."""
    from cdr.tasks_recordings import recording_transcode

    recordings_attach_calls(limit=limit)
    cutoff = timezone.now() - older_than
    pending = Recording.objects.filter(wav_status=WavStatus.PENDING, deleted_at__isnull=True, created_at__lt=cutoff)
    ids = list(pending.order_by("created_at").values_list("id", flat=True)[:limit])
    for pk in ids:
        recording_transcode.delay(pk)
    return len(ids)


# --- links ------------------------------------------------------------------------------------
def recording_link(*, user: Any, recording: Recording, purpose: str, variant: str = "wav") -> str:
    """A short-lived URL to the WAV (or the original) for a user allowed to see the call.

    Raises PermissionDenied, or RecordingUnavailable when the file is gone or was never made.
    Every link handed out is recorded in RecordingAccess.
    """
    if not recording_visible_to(user, recording):
        raise PermissionDenied("not allowed to access this recording")
    purpose = AccessPurpose(purpose)
    if recording.deleted_at is not None:
        raise RecordingUnavailable("recording deleted by the retention policy")
    if variant == "wav":
        if recording.wav_status != WavStatus.READY or not recording.wav_key:
            raise RecordingUnavailable(recording.wav_error or "the WAV is not ready yet")
        key = recording.wav_key
    elif variant == "original":
        key = recording.storage_key
    else:
        raise ValueError(f"variant must be 'wav' or 'original', got {variant!r}")
    RecordingAccess.objects.create(recording=recording, user=user, purpose=purpose, variant=variant)
    storage = recordings_storage()
    attachment = purpose == AccessPurpose.DOWNLOAD
    expire = settings.CDR_RECORDINGS["LINK_SECONDS"]
    if storage_is_s3(storage):
        params = None
        if attachment:
            params = {"ResponseContentDisposition": f'attachment; filename="{key.rsplit("/", 1)[-1]}"'}
        return str(storage.url(key, parameters=params, expire=expire))  # type: ignore[call-arg]
    token = recording_link_sign(recording_id=recording.pk, key=key, attachment=attachment)
    return reverse("cdr:recording-file", args=[token])


# --- waveform ----------------------------------------------------------------------------------
def recording_waveform(*, user: Any, recording: Recording) -> bytes:
    """The SVG waveform of the recording's WAV, for a user allowed to see the call.

    Rendered once (streaming the WAV) and cached in the recordings storage at ``waveform_key``;
    rendered again if that object is missing. Raises PermissionDenied, or RecordingUnavailable
    when there is no WAV (deleted, not ready, failed) or it cannot be drawn. Not an audio access:
    no RecordingAccess row.
    """
    if not recording_visible_to(user, recording):
        raise PermissionDenied("not allowed to access this recording")
    if recording.deleted_at is not None:
        raise RecordingUnavailable("recording deleted by the retention policy")
    if recording.wav_status != WavStatus.READY or not recording.wav_key:
        raise RecordingUnavailable(recording.wav_error or "the WAV is not ready yet")
    storage = recordings_storage()
    key = waveform_key(recording.wav_key)
    try:
        with storage.open(key, "rb") as f:
            return bytes(f.read())
    except FileNotFoundError:
        pass
    try:
        with storage.open(recording.wav_key, "rb") as f:
            svg = waveform_svg(waveform_peaks(f)).encode()
    except FileNotFoundError:
        raise RecordingUnavailable("the WAV file is missing from storage") from None
    except WaveformError as exc:
        log.warning("recording %s: no waveform: %s", recording.pk, exc)
        raise RecordingUnavailable(f"the WAV cannot be drawn: {exc}") from None
    saved = storage.save(key, ContentFile(svg, name=key))
    if saved != key:  # a storage that does not overwrite, and another request cached it first
        storage.delete(saved)
    return svg


# --- retention ---------------------------------------------------------------------------------
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
                        cached = waveform_key(wav_key) if wav_key else ""
                        for k in {key, wav_key, cached} - {None, ""}:
                            storage.delete(k)
                        purged += 1
            if len(batch) < batch_size:
                break
    return purged


# --- rules ----------------------------------------------------------------------------------------
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
