"""StorageRecordingSink: the gateway's RecordingSink on django-storages' ``recordings`` alias.

Nothing is lost and the gateway never waits past its timeout: the artifact is first written to a
durable local spool (fsync'd), then uploaded by a worker thread to its deterministic key. The
gateway waits at most ``timeout`` for that upload; past it (or when storage is down) it gets the
key the object will have, and the spool entry is uploaded later by this sink's retry thread (and
by the ``cdr.recording_upload`` task when a broker is configured). Every path is idempotent:
same key, same (call_id, sha256) row.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import threading
import time
from collections import Counter
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cdr.conf import cdr_setting
from cdr.hooks import CallMeta, RecordingArtifact, RecordingChannel, RecordingResult
from cdr.media import TapRecorder
from cdr.sinks.protocols import RecordingBacking
from cdr.sinks.uploads import SpoolUploader
from cdr.storage.keys import recording_key, spool_name, taps_key
from cdr.storage.spool import RecordingSpool

log = logging.getLogger("cdr.sinks.recording")


@dataclass(slots=True)
class _Call:
    meta: CallMeta
    sample_rate: int
    codec: str
    taps: TapRecorder | None
    declined: bool = False  # the tenant's policy said no: FinishRecording must not store either
    begun: float = field(default_factory=time.monotonic)


@dataclass(frozen=True, slots=True)
class _Target:
    tenant_id: int
    day: datetime
    enabled: bool


class StorageRecordingSink:
    """Implements hooks.RecordingSink (BeginRecording, AppendPCM, FinishRecording)."""

    def __init__(
        self,
        *,
        spool_dir: str | Path | None = None,
        finish_timeout: float | None = None,
        upload_threads: int | None = None,
        tap_memory_bytes: int | None = None,
        retry_seconds: float = 2.0,
        max_retry_seconds: float = 60.0,
        stale_call_seconds: float = 6 * 3600,
        enqueue_uploads: bool | None = None,
        backing: RecordingBacking | None = None,
    ) -> None:
        if backing is None:
            # The real backing needs the app registry: loaded when the sink is built, so that
            # importing cdr.sinks stays free of the ORM.
            from cdr.sinks.backing import DjangoRecordingBacking

            backing = DjangoRecordingBacking()
        self._backing = backing
        conf = cdr_setting("CDR_RECORDINGS")
        self._spool = RecordingSpool(spool_dir or conf["SPOOL_DIR"])
        self._timeout = conf["FINISH_TIMEOUT"] if finish_timeout is None else finish_timeout
        self._tap_memory = conf["TAP_MEMORY_BYTES"] if tap_memory_bytes is None else tap_memory_bytes
        self._stale = stale_call_seconds
        self._lock = threading.Lock()
        self._calls: dict[str, _Call] = {}
        self._counts: Counter[str] = Counter()
        self._uploads = SpoolUploader(
            spool=self._spool,
            backing=backing,
            counts=self._counts,
            threads=upload_threads or conf["UPLOAD_THREADS"],
            enqueue=backing.queues_uploads if enqueue_uploads is None else enqueue_uploads,
            retry_seconds=retry_seconds,
            max_retry_seconds=max_retry_seconds,
        )

    @property
    def spool(self) -> RecordingSpool:
        return self._spool

    # --- hooks.RecordingSink (gateway threads) -------------------------------------------------
    def begin_recording(self, meta: CallMeta, sample_rate: int, codec: str) -> bool:
        """Mirrors hooks.RecordingSink.BeginRecording: False when the tenant's policy is off."""
        try:
            enabled = self._policy_enabled(meta.tenant_id)
            with self._lock:
                self._evict_stale()
                known = self._calls.get(meta.call_id)
                if known is not None:  # a re-INVITE fires again: never reset the taps
                    return not known.declined
                if not enabled:
                    self._counts["policy_off"] += 1
                    self._calls[meta.call_id] = _Call(meta=meta, sample_rate=0, codec=codec, taps=None, declined=True)
                    return False
                taps = TapRecorder(sample_rate, spool_bytes=self._tap_memory) if sample_rate > 0 else None
                self._calls[meta.call_id] = _Call(meta=meta, sample_rate=sample_rate, codec=codec, taps=taps)
            return True
        except Exception:
            log.exception("begin_recording failed for %s", meta.call_id)
            return False

    def append_pcm(self, call_id: str, ch: RecordingChannel, pcm: bytes) -> None:
        """Mirrors hooks.RecordingSink.AppendPCM: copies ``pcm`` (TapRecorder spools to disk)."""
        state = self._calls.get(call_id)
        if state is None or state.taps is None:
            return
        try:
            state.taps.write(int(ch), pcm)
        except Exception:  # a closed recorder (late tap after hangup) or a bad channel
            self._counts["taps_dropped"] += 1

    def finish_recording(self, artifact: RecordingArtifact, *, timeout: float | None = None) -> RecordingResult:
        """Mirrors hooks.RecordingSink.FinishRecording; Go's ctx deadline is ``timeout`` seconds."""
        deadline = time.monotonic() + (self._timeout if timeout is None else timeout)
        with self._lock:
            state = self._calls.pop(artifact.call_id, None)
        meta = state.meta if state is not None else CallMeta(call_id=artifact.call_id)
        if state is not None and state.declined:
            return RecordingResult()
        try:
            return self._store(meta, artifact, state, deadline)
        except Exception:
            log.exception("finish_recording failed for %s", artifact.call_id)
            return RecordingResult()

    def store_bye_artifact(self, meta: CallMeta, artifact: RecordingArtifact) -> RecordingResult:
        """For LifecycleSink.OnBye carrying a payload: store it unless it is stored already.

        Deduplicated by sha256 against stored rows and pending spool entries, so the blob that
        also came through FinishRecording is stored once. Bounded by the finish timeout.
        """
        if not artifact.payload:
            return RecordingResult()
        try:
            art = artifact if artifact.call_id else _with_call_id(artifact, meta.call_id)
            return self._store(meta, art, None, time.monotonic() + self._timeout)
        except Exception:
            log.exception("storing the on_bye recording of %s failed", meta.call_id)
            return RecordingResult()

    def store_file(
        self,
        meta: CallMeta,
        artifact: RecordingArtifact,
        *,
        path: Path,
        size: int,
        sha256: str,
        gateway_id: int | None = None,
    ) -> RecordingResult:
        """The HTTP ingestion entry point: ``artifact`` without its payload, whose bytes (verified
        against ``sha256``) are in ``path`` on the spool's file system. The file is moved into the
        spool, never read into memory; then as ``finish_recording``: upload, bounded wait, retries.
        Returns an empty result (and removes the file) when the tenant's policy is off.
        ``gateway_id``: the gateway that posted it (see ``recording_store``).
        """
        deadline = time.monotonic() + self._timeout
        call_id = artifact.call_id or meta.call_id
        target = self._target(meta, call_id)
        existing = self._find(call_id, sha256) if target.enabled else None
        if not target.enabled or existing is not None:
            path.unlink(missing_ok=True)
            if existing is None:
                self._counts["policy_off"] += 1
                return RecordingResult()
            self._counts["duplicate"] += 1
            return RecordingResult(
                url=self._backing.uri(existing.storage_key), object_key=existing.storage_key, bytes=size
            )
        key = recording_key(
            tenant_id=target.tenant_id, call_id=call_id, day=target.day, sha256=sha256, fmt=str(artifact.format)
        )
        name = spool_name(call_id=call_id, sha256=sha256)
        if name in self._spool:
            path.unlink(missing_ok=True)
        else:
            meta_json = self._meta(artifact, call_id, target, key, sha256) | {"bytes": size, "gateway_id": gateway_id}
            path.replace(self._spool.part_path(name))
            self._spool.put(name, meta=meta_json)
            self._counts["spooled"] += 1
        self._wait([self._uploads.submit(self._uploads.upload, name)], deadline)
        return RecordingResult(url=self._backing.uri(key), object_key=key, bytes=size)

    # --- store ---------------------------------------------------------------------------------
    def _store(
        self, meta: CallMeta, artifact: RecordingArtifact, state: _Call | None, deadline: float
    ) -> RecordingResult:
        call_id = artifact.call_id or meta.call_id
        has_taps = state is not None and state.taps is not None and state.taps.duration_s > 0
        if not artifact.payload and not has_taps:
            if state is not None and state.taps is not None:
                state.taps.close()
            return RecordingResult()
        target = self._target(meta, call_id)
        if not target.enabled:
            self._counts["policy_off"] += 1
            if state is not None and state.taps is not None:
                state.taps.close()
            return RecordingResult()
        results: list[tuple[RecordingResult, Future[Any] | None]] = []
        if artifact.payload:
            sha = hashlib.sha256(artifact.payload).hexdigest()
            existing = self._find(call_id, sha)
            if existing is not None:
                self._counts["duplicate"] += 1
                key, future = existing.storage_key, None
            else:
                key = recording_key(
                    tenant_id=target.tenant_id, call_id=call_id, day=target.day, sha256=sha, fmt=str(artifact.format)
                )
                name = spool_name(call_id=call_id, sha256=sha)
                if name not in self._spool:
                    self._spool.put(name, meta=self._meta(artifact, call_id, target, key, sha), data=artifact.payload)
                    self._counts["spooled"] += 1
                future = self._uploads.submit(self._uploads.upload, name)
            results.append(
                (RecordingResult(url=self._backing.uri(key), object_key=key, bytes=len(artifact.payload)), future)
            )
        if has_taps:
            assert state is not None
            key = taps_key(tenant_id=target.tenant_id, call_id=call_id, day=target.day)
            future = self._uploads.submit(self._store_taps, state, call_id, target, key)
            results.append((RecordingResult(url=self._backing.uri(key), object_key=key), future))
        self._wait([future for _, future in results], deadline)
        return results[0][0]

    def _wait(self, futures: list[Future[Any] | None], deadline: float) -> None:
        """Wait for the uploads until the gateway's deadline; past it they finish on their own."""
        for future in futures:
            if future is None:
                continue
            try:
                future.result(timeout=max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                self._counts["finish_timeouts"] += 1
            except Exception:
                pass  # logged by the job; the spool entry waits for the retry thread

    def _find(self, call_id: str, sha: str) -> Any:
        try:
            return self._backing.find(call_id=call_id, sha256=sha)
        except Exception as exc:  # database down: store anyway; the row upsert dedupes later
            log.warning("recording lookup failed (%s); storing %s without dedupe", exc, call_id)
            return None

    def _target(self, meta: CallMeta, call_id: str) -> _Target:
        tenant_id, started = meta.tenant_id, meta.started_at
        try:
            tenant_id, row_started = self._backing.call_context(
                call_id=call_id, tenant_id=meta.tenant_id, correlation_id=meta.correlation_id
            )
            started = started or row_started
        except Exception as exc:
            log.warning("call lookup failed for %s (%s): keying by the gateway's values", call_id, exc)
        day = (started or datetime.now(UTC)).astimezone(UTC)
        return _Target(tenant_id=tenant_id, day=day, enabled=self._policy_enabled(tenant_id))

    def _policy_enabled(self, tenant_id: int) -> bool:
        try:
            return self._backing.policy_enabled(tenant_id)
        except Exception as exc:  # database down: the default policy (record) rather than lose audio
            log.warning("recording policy of tenant %s unreadable (%s): recording", tenant_id, exc)
            return True

    @staticmethod
    def _meta(artifact: RecordingArtifact, call_id: str, target: _Target, key: str, sha: str) -> dict[str, Any]:
        return {
            "call_id": call_id,
            "tenant_id": target.tenant_id,
            "format": str(artifact.format),
            "codec": artifact.codec,
            "sample_rate": artifact.sample_rate,
            "channels": artifact.channels,
            "bytes": len(artifact.payload),
            "sha256": sha,
            "key": key,
        }

    def _store_taps(self, state: _Call, call_id: str, target: _Target, key: str) -> None:
        assert state.taps is not None
        name = spool_name(call_id=call_id)
        part = self._spool.part_path(name)
        digest = hashlib.sha256()
        with open(part, "wb") as f:
            frames = state.taps.write_wav(f)
        state.taps.close()
        with open(part, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
            size = f.tell()
        meta = {
            "call_id": call_id,
            "tenant_id": target.tenant_id,
            "format": "taps",
            "codec": state.codec,
            "sample_rate": state.sample_rate,
            "channels": 2,
            "bytes": size,
            "sha256": digest.hexdigest(),
            "key": key,
            "duration_ms": round(frames * 1000 / state.sample_rate),
            "wav_ready": True,
        }
        self._spool.put(name, meta=meta)
        self._counts["spooled"] += 1
        self._uploads.upload(name)

    # --- housekeeping ------------------------------------------------------------------------------
    def _evict_stale(self) -> None:
        cutoff = time.monotonic() - self._stale
        for call_id in [c for c, s in self._calls.items() if s.begun < cutoff]:
            stale = self._calls.pop(call_id)
            if stale.taps is not None:
                stale.taps.close()
            self._counts["stale_calls"] += 1

    def stats(self) -> dict[str, int]:
        counts = dict(self._counts)
        counts.update(open_calls=len(self._calls), spool_pending=len(self._spool.names()))
        return counts

    def retry_now(self) -> None:
        """Wake the retry thread (tests, or an operator after storage came back)."""
        self._uploads.retry_now()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the spool is empty (True) or the timeout passes."""
        return self._uploads.flush(timeout)

    def close(self, timeout: float = 10.0) -> None:
        self._uploads.close(timeout)
        with self._lock:
            calls, self._calls = self._calls, {}
        for state in calls.values():
            if state.taps is not None:
                state.taps.close()


def _with_call_id(artifact: RecordingArtifact, call_id: str) -> RecordingArtifact:
    return replace(artifact, call_id=call_id)


_sink_lock = threading.Lock()
_sink: StorageRecordingSink | None = None


def recording_sink_from_settings() -> StorageRecordingSink:
    """The process-wide sink configured by CDR_RECORDINGS, closed at interpreter exit."""
    global _sink
    with _sink_lock:
        if _sink is None:
            _sink = StorageRecordingSink()
            atexit.register(_sink.close)
        return _sink
