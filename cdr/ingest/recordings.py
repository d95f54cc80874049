"""A recording posted by a gateway: streamed to a spool file while hashed, verified, then handed
to the StorageRecordingSink (the same upload, row and transcode path as FinishRecording)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from cdr.conf import cdr_setting
from cdr.hooks import CallMeta, RecordingArtifact, RecordingFormat, RecordingResult
from cdr.models import Call, Gateway
from cdr.selectors.recordings import recording_find
from cdr.sinks.recording import recording_sink_from_settings

_CHUNK = 1 << 20
_U64 = 1 << 64
FORMATS = tuple(str(f) for f in RecordingFormat)


class RecordingRefused(Exception):
    """Bad input (``status`` 400/403/413): the message names the parameter; nothing was kept."""

    def __init__(self, status: int, parameter: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.parameter, self.reason = status, parameter, reason


@dataclass(frozen=True, slots=True)
class RecordingUpload:
    call_id: str
    tenant_id: int
    format: str
    codec: str
    sample_rate: int
    channels: int
    sha256: str


def _int_header(headers: Any, name: str, lo: int, hi: int, default: int | None = None) -> int:
    raw = headers.get(name)
    if raw is None or raw == "":
        if default is None:
            raise RecordingRefused(400, name, f"{name}: required")
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RecordingRefused(400, name, f"{name}: expected an integer, got {raw[:40]!r}") from None
    if not lo <= value <= hi:
        raise RecordingRefused(400, name, f"{name}: {value} is outside {lo}..{hi}")
    return value


def recording_upload_parse(*, call_id: str, headers: Any) -> RecordingUpload:
    if not 0 < len(call_id) <= 255:
        raise RecordingRefused(400, "call_id", "call_id: 1..255 characters")
    if "\x00" in call_id:  # %00 in the URL: no PostgreSQL text can hold it
        raise RecordingRefused(400, "call_id", "call_id: contains NUL, which cannot be stored")
    fmt = headers.get("X-CDR-Format", "sn3").lower()
    if fmt not in FORMATS:
        raise RecordingRefused(400, "X-CDR-Format", f"X-CDR-Format: expected one of {', '.join(FORMATS)}")
    codec = headers.get("X-CDR-Codec", "")
    if len(codec) > 32:
        raise RecordingRefused(400, "X-CDR-Codec", "X-CDR-Codec: longer than 32 characters")
    return RecordingUpload(
        call_id=call_id,
        tenant_id=_int_header(headers, "X-CDR-Tenant-Id", 0, _U64 - 1),
        format=fmt,
        codec=codec.lower(),
        sample_rate=_int_header(headers, "X-CDR-Sample-Rate", 0, 384_000, default=0),
        channels=_int_header(headers, "X-CDR-Channels", 0, 2, default=0),
        sha256=headers.get("X-CDR-Content-SHA256", "").lower(),
    )


def _tenant_check(gateway: Gateway, upload: RecordingUpload) -> None:
    allowed = set(gateway.tenant_ids)
    if upload.tenant_id and upload.tenant_id not in allowed:
        raise RecordingRefused(
            403,
            "X-CDR-Tenant-Id",
            f"X-CDR-Tenant-Id: gateway {gateway.name!r} may not report tenant {upload.tenant_id}",
        )
    # The call may already be stored under another tenant: the recording would land there.
    stored = Call.objects.filter(call_id=upload.call_id).values_list("tenant_id", flat=True).first()
    if stored and stored not in allowed:
        raise RecordingRefused(403, "call_id", f"call_id: belongs to a tenant gateway {gateway.name!r} may not report")


def body_spool(stream: BinaryIO, directory: Path, *, cap: int, declared: int | None) -> tuple[Path, int, str]:
    """Body -> a temp file next to the spool, hashed on the way; never the whole body in memory."""
    if declared is not None and declared > cap:
        raise RecordingRefused(413, "body", f"body: {declared} bytes, more than the {cap} allowed")
    directory.mkdir(parents=True, exist_ok=True)
    # ``.part``: a crash mid-upload leaves a file the spool's sweeper removes.
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=directory)
    path, size, digest = Path(name), 0, hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > cap:
                    raise RecordingRefused(413, "body", f"body: more than the {cap} bytes allowed")
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, size, digest.hexdigest()


@dataclass(frozen=True, slots=True)
class RecordingAccepted:
    """What the gateway is told: never a server path or URL (the storage is the server's business)."""

    recording_id: int | None  # the Recording row (REST API id); None while its upload is still running
    object_key: str  # "" when the tenant's recording policy is off (nothing stored)
    bytes: int
    sha256: str
    created: bool


def gateway_recording_accept(
    *, gateway: Gateway, upload: RecordingUpload, stream: BinaryIO, declared_bytes: int | None, sink: Any = None
) -> RecordingAccepted:
    """Store one posted recording through the recording sink.

    RecordingRefused for bad input. A recording already stored (same call, same signed SHA-256)
    is answered from its row without reading the body again.
    """

    _tenant_check(gateway, upload)
    existing = recording_find(call_id=upload.call_id, sha256=upload.sha256)
    if existing is not None:
        return RecordingAccepted(existing.pk, existing.storage_key, existing.bytes, upload.sha256, created=False)
    result = _store(gateway, upload, stream, declared_bytes, sink)
    # The row is written once the upload is done: within the sink's wait, or later by its retries.
    row = recording_find(call_id=upload.call_id, sha256=upload.sha256) if result.object_key else None
    return RecordingAccepted(
        row.pk if row else None, result.object_key, result.bytes, upload.sha256, created=bool(result.object_key)
    )


def _store(
    gateway: Gateway, upload: RecordingUpload, stream: BinaryIO, declared_bytes: int | None, sink: Any
) -> RecordingResult:
    sink = sink or recording_sink_from_settings()
    path, size, sha = body_spool(
        stream, sink.spool.path, cap=cdr_setting("CDR_INGEST")["MAX_RECORDING_BYTES"], declared=declared_bytes
    )
    if size == 0 or sha != upload.sha256:
        path.unlink(missing_ok=True)
        if size == 0:
            raise RecordingRefused(400, "body", "body: empty")
        raise RecordingRefused(400, "X-CDR-Content-SHA256", f"X-CDR-Content-SHA256: does not match the body ({sha})")
    meta = CallMeta(call_id=upload.call_id, tenant_id=upload.tenant_id)
    artifact = RecordingArtifact(
        call_id=upload.call_id,
        format=upload.format,
        codec=upload.codec,
        sample_rate=upload.sample_rate,
        channels=upload.channels,
    )
    return sink.store_file(meta, artifact, path=path, size=size, sha256=sha, gateway_id=gateway.pk)
