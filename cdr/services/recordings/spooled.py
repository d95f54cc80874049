"""Spooled recordings uploaded: the bytes put at their key first, then the row recorded, by the
process that spooled them, or, from the spool entry's meta alone, by a worker on any host.

Nothing here needs a disk shared between hosts (docs/operations.md, "Scaling workers").
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.files.storage import Storage

from cdr.conf import cdr_setting
from cdr.models import Recording
from cdr.services.recordings.store import recording_store
from cdr.storage.backend import recordings_storage
from cdr.storage.spool import RecordingSpool

log = logging.getLogger("cdr.recordings")

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
