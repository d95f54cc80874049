"""Uploads of the recording spool: a thread pool for fresh entries, one retry thread for the rest.

Part of ``StorageRecordingSink``: an entry is uploaded once at a time (whoever holds it, the
others wait), a failed upload is retried with a doubling backoff, and, when a broker is
configured, also handed to the ``cdr.recording_upload`` task. Once the bytes are in storage (an
upload puts them there before it touches the database) the task carries the entry's meta and any
worker on any host finishes it: recording the row needs no spool. Bytes that never reached storage
are only on this host: this sink's retry thread, or the next process started on the same spool
(or, on one host, a worker sharing the spool directory) uploads them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from cdr.metrics import RECORDING_UPLOADS
from cdr.sinks.protocols import RecordingBacking, RecordingStoredNotRecorded
from cdr.storage.spool import RecordingSpool

log = logging.getLogger("cdr.sinks.recording")


class SpoolUploader:
    def __init__(
        self,
        *,
        spool: RecordingSpool,
        backing: RecordingBacking,
        counts: Counter[str],
        threads: int,
        enqueue: bool,
        retry_seconds: float,
        max_retry_seconds: float,
    ) -> None:
        self._spool = spool
        self._backing = backing
        self._counts = counts
        self._enqueue = enqueue
        self._retry = retry_seconds
        self._max_retry = max_retry_seconds
        self._backoff = retry_seconds
        self._lock = threading.Lock()
        self._in_flight: dict[str, threading.Event] = {}
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="cdr-recording")
        self._wake = threading.Event()
        self._closing = threading.Event()
        # Picks up what a previous process left in the spool, then retries failed uploads.
        self._retrier = threading.Thread(target=self._retry_loop, name="cdr-recording-retry", daemon=True)
        self._retrier.start()

    def submit(self, fn: Any, *args: Any) -> Future[Any] | None:
        try:
            return self._pool.submit(fn, *args)
        except RuntimeError:  # pool shut down: the spool entry stays for the next process
            return None

    def upload(self, name: str) -> bool:
        """Upload one spool entry; True when done (or done by someone else)."""
        with self._lock:
            running = self._in_flight.get(name)
            if running is None:
                done = self._in_flight[name] = threading.Event()
        if running is not None:  # the retry thread has it: the caller's deadline bounds the wait
            running.wait(60)
            return name not in self._spool
        try:
            self._backing.upload_spooled(name=name, spool_dir=self._spool.path)
            self._counts["uploaded"] += 1
            RECORDING_UPLOADS.labels(outcome="uploaded").inc()
            return True
        except Exception as exc:
            self._counts["upload_failures"] += 1
            RECORDING_UPLOADS.labels(outcome="failed").inc()
            log.warning("recording upload of %s failed (%s: %s); retrying later", name, type(exc).__name__, exc)
            self._enqueue_retry(name, exc.meta if isinstance(exc, RecordingStoredNotRecorded) else None)
            raise
        finally:
            with self._lock:
                del self._in_flight[name]
            done.set()
            self._backing.release_connections()

    def _enqueue_retry(self, name: str, meta: dict[str, Any] | None) -> None:
        if not self._enqueue:
            return
        try:
            self._backing.enqueue_upload(name=name, meta=meta, countdown=self._backoff)
        except Exception as exc:  # broker down too: this sink's retry thread still has it
            log.warning("could not queue cdr.recording_upload for %s: %s", name, exc)

    # --- retries ---------------------------------------------------------------------------------
    def _retry_loop(self) -> None:
        delay = 0.0
        while True:
            self._wake.wait(delay)
            self._wake.clear()
            if self._closing.is_set():
                return
            delay = self._retry
            try:
                self._spool.sweep_parts()
                for name in self._spool.names():
                    if self._closing.is_set():
                        return
                    with self._lock:
                        if name in self._in_flight:
                            continue
                    try:
                        self.upload(name)
                    except Exception:
                        # Storage still down: back off, doubling up to the cap.
                        self._backoff = min(self._backoff * 2, self._max_retry)
                        delay = self._backoff
                        break
                else:
                    self._backoff = self._retry
            except Exception:  # the thread must survive anything; entries stay spooled
                log.exception("recording retry loop error")

    def retry_now(self) -> None:
        """Wake the retry thread (tests, or an operator after storage came back)."""
        self._backoff = self._retry
        self._wake.set()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the spool is empty (True) or the timeout passes."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if not self._spool.names():
                return True
            self._wake.set()
            time.sleep(0.05)
        return False

    def close(self, timeout: float = 10.0) -> None:
        self._closing.set()
        self._wake.set()
        self._retrier.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=False)
