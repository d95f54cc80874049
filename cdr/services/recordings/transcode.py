"""WAV transcode of stored originals, in bounded memory; pending transcodes resumed."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import BinaryIO

from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage
from django.utils import timezone

from cdr import dispatch
from cdr.conf import cdr_setting
from cdr.media import DecodeError, RecordingFormatError, WavWriter, decode_to_wav, mapped_file
from cdr.metrics import RECORDING_TRANSCODES
from cdr.models import Recording, WavStatus
from cdr.services.recordings.store import recordings_attach_calls
from cdr.storage.backend import recordings_storage, storage_is_s3

log = logging.getLogger("cdr.recordings")


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
    head = src.read(12)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":  # not raw samples that happen to start "RIFF"
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
        report = decode_to_wav(blob, recording.codec, out, snap_ms=cdr_setting("CDR_RECORDINGS")["SNAP_MS"])
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
            if Recording.objects.filter(pk=recording.pk, wav_status=WavStatus.PENDING).update(
                wav_status=WavStatus.FAILED, wav_error=str(exc)[:2000]
            ):
                RECORDING_TRANSCODES.labels(outcome="failed").inc()
            recording.refresh_from_db()
            return recording
        size = tmp.tell()
        tmp.seek(0)
        wav_key = recording.storage_key.rsplit(".", 1)[0] + ".wav"
        storage.save(wav_key, File(tmp, name=wav_key))
    RECORDING_TRANSCODES.labels(outcome="ready").inc()
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
    recordings_attach_calls(limit=limit)
    cutoff = timezone.now() - older_than
    pending = Recording.objects.filter(wav_status=WavStatus.PENDING, deleted_at__isnull=True, created_at__lt=cutoff)
    ids = list(pending.order_by("created_at").values_list("id", flat=True)[:limit])
    for pk in ids:
        dispatch.enqueue(dispatch.RECORDING_TRANSCODE, pk)
    return len(ids)
