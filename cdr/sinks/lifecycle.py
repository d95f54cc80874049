"""CeleryLifecycleSink: the gateway's LifecycleSink, never blocking, never raising, never losing.

Gateway threads only append a tuple to an in-memory deque (about a microsecond). One background
thread turns those into JSON event batches, writes each batch to a durable local outbox (the
spool), publishes it to Celery, and forgets it only once the database confirms the batch was
committed. A broker that is down, slow or frozen only delays publishing (FIFO, so each call's
events keep their order); a message lost after publishing is published again.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cdr.hooks import CallMeta, HangupMeta, RecordingArtifact
from cdr.lifecycle.encode import encode_hook_call
from cdr.lifecycle.labels import LabelBook
from cdr.sinks.outbox import Spool
from cdr.sinks.protocols import Publisher

log = logging.getLogger("cdr.sinks.lifecycle")


class CeleryLifecycleSink:
    """Implements hooks.LifecycleSink on top of Celery tasks (``cdr.events_ingest``)."""

    def __init__(
        self,
        *,
        publisher: Publisher,
        spool_path: str | Path,
        buffer_events: int = 200_000,
        batch_events: int = 500,
        flush_seconds: float = 0.05,
        spool_max_events: int = 5_000_000,
        retry_seconds: float = 1.0,
        confirm_seconds: float = 0.5,
        redeliver_seconds: float = 60.0,
        recordings: Any | None = None,
        clock: Callable[[], int] | None = None,
        label_calls: int = 65_536,
    ) -> None:
        self._publisher = publisher
        # set_labels: the labels each hook of a call carries from then on (the newest label_calls calls).
        self._labels = LabelBook(label_calls)
        # When each hook was observed, in ns since the epoch. Default: the wall clock, kept
        # distinct per sink. A simulator passes its own clock (simulated time of the step).
        self._clock = clock
        # OnBye may carry the SN3 blob: handed to the recording sink (``store_bye_artifact``,
        # deduplicated by sha256) on a thread of its own, so slow storage never delays events.
        self._recordings = recordings
        self._artifacts: queue.Queue[tuple[Any, Any]] = queue.Queue(maxsize=8)
        if recordings is not None:
            threading.Thread(target=self._store_artifacts, name="cdr-bye-recordings", daemon=True).start()
        self._spool = Spool(spool_path, max_events=spool_max_events)
        self._buf: collections.deque[tuple[str, tuple[Any, ...], int, dict[str, str] | None]] = collections.deque()
        self._cap = buffer_events
        self._last_ns = 0
        self._stamp_lock = threading.Lock()
        self._batch = batch_events
        self._flush = flush_seconds
        self._retry = retry_seconds
        self._retry_at = 0.0
        self._backoff = retry_seconds
        self._confirm_every = confirm_seconds
        self._confirm_at = 0.0
        self._ship_at = 0.0
        self._redeliver = redeliver_seconds
        self._closing = threading.Event()
        # Only the rare failure paths of the hooks take this lock; the normal path takes none.
        self._fault_lock = threading.Lock()
        self._dropped_buffer = 0
        self._hook_errors = 0
        self._counts = collections.Counter[str]()
        self._last_warning = 0.0
        self._thread = threading.Thread(target=self._run, name="cdr-lifecycle-sink", daemon=True)
        self._thread.start()

    @property
    def clock(self) -> Callable[[], int] | None:
        """The clock hooks are stamped with (None: the wall clock)."""
        return self._clock

    # --- hooks.LifecycleSink (gateway threads) ------------------------------------------------
    def _put(self, method: str, args: tuple[Any, ...]) -> None:
        try:
            if len(self._buf) < self._cap:
                # Stamps are kept distinct at the store's microsecond resolution, so two hooks
                # fired back to back (two transfer attempts) keep their order. The lock is held
                # for a few hundred nanoseconds; unlocked, racing threads could tie two stamps.
                with self._stamp_lock:
                    if self._clock is None:
                        now = time.time_ns()
                        if now < self._last_ns + 1000:
                            now = self._last_ns + 1000
                        self._last_ns = now
                    else:
                        now = self._clock()
                    labels = self._labels.get(getattr(args[0], "call_id", None)) if self._labels else None
                    self._buf.append((method, args, now, labels))
                return
            with self._fault_lock:
                self._dropped_buffer += 1
            self._warn("lifecycle buffer full (%d events): dropping new events", self._cap)
        except BaseException:  # never raise into the call path
            with self._fault_lock:
                self._hook_errors += 1

    def set_labels(self, call_id: str, labels: Mapping[str, str]) -> None:
        """Attach labels to a call (an extension: hooks.CallMeta has no labels; mirrors the Go
        client's ``SetLabels``): merged into the call's (a key given again takes the new value),
        they travel as ``call.labels`` on every hook of the call fired after this. Raises
        ``ValueError`` with the reason for labels the wire refuses (cdr.lifecycle.labels).
        """
        self._labels.set(call_id, labels)

    def on_ringing(self, meta: CallMeta) -> None:
        """Mirrors hooks.LifecycleSink.OnRinging."""
        self._put("on_ringing", (meta,))

    def on_established(self, meta: CallMeta) -> None:
        """Mirrors hooks.LifecycleSink.OnEstablished."""
        self._put("on_established", (meta,))

    def on_transfer_started(self, inbound: CallMeta, target_uri: str) -> None:
        """Mirrors hooks.LifecycleSink.OnTransferStarted."""
        self._put("on_transfer_started", (inbound, target_uri))

    def on_bridge_started(self, inbound_call_id: str, outbound_call_id: str) -> None:
        """Mirrors hooks.LifecycleSink.OnBridgeStarted."""
        self._put("on_bridge_started", (inbound_call_id, outbound_call_id))

    def on_bye(self, meta: CallMeta, hangup: HangupMeta, recording: RecordingArtifact) -> None:
        """Mirrors hooks.LifecycleSink.OnBye."""
        self._put("on_bye", (meta, hangup, recording))

    def on_failed(self, meta: CallMeta, hangup: HangupMeta) -> None:
        """Mirrors hooks.LifecycleSink.OnFailed."""
        self._put("on_failed", (meta, hangup))

    # --- background thread --------------------------------------------------------------------
    def _take(self) -> list[dict[str, Any]]:
        events = []
        while len(events) < self._batch:
            try:
                method, args, observed_ns, labels = self._buf.popleft()
            except IndexError:
                break
            if method == "on_bye" and self._recordings is not None:
                self._hand_over_recording(args)
            try:
                events.append(encode_hook_call(method, args, observed_ns, labels))
            except Exception as exc:  # encode never raises by design; keep the evidence if it does
                events.append({"type": method, "observed_ns": observed_ns, "error": repr(exc)[:300]})
        return events

    def _hand_over_recording(self, args: tuple[Any, ...]) -> None:
        artifact = args[2] if len(args) > 2 else None
        if not isinstance(artifact, RecordingArtifact) or not artifact.payload:
            return
        try:
            self._artifacts.put_nowait((args[0], artifact))
        except queue.Full:
            # The same blob normally arrives through RecordingSink.FinishRecording too.
            self._counts["bye_recordings_skipped"] += 1
            self._warn("recording hand-over queue full: on_bye recording of %s not stored here", artifact.call_id)

    def _store_artifacts(self) -> None:
        assert self._recordings is not None
        while True:
            meta, artifact = self._artifacts.get()
            try:
                self._recordings.store_bye_artifact(meta, artifact)
                self._counts["bye_recordings"] += 1
            except Exception:
                log.exception("storing the on_bye recording failed")
            finally:
                self._artifacts.task_done()

    def _warn(self, message: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._last_warning >= 10:
            self._last_warning = now
            log.warning(message + " (stats: %s)", *args, self.stats())

    def _accept(self, events: list[dict[str, Any]]) -> None:
        """Make a batch durable in the outbox before anything else happens to it."""
        self._counts["observed"] += len(events)
        if self._spool.append(uuid.uuid4().hex, events):
            return
        self._counts["dropped_spool_full"] += len(events)
        log.error(
            "lifecycle spool full (%d events at %s): dropped a batch of %d events",
            self._spool.pending,
            self._spool.path,
            len(events),
        )

    def _publish_pending(self) -> None:
        """Publish outbox batches oldest first while the broker takes them."""
        while time.monotonic() >= self._retry_at:
            head = self._spool.next_unpublished()
            if head is None:
                return
            row_id, batch_id, events = head
            try:
                self._publisher.publish(events, batch_id)
            except Exception as exc:
                self._retry_at = time.monotonic() + self._backoff
                self._backoff = min(self._backoff * 2, 30.0)
                self._warn("broker unavailable (%s: %s); events wait in the spool", type(exc).__name__, exc)
                return
            self._backoff = self._retry
            self._spool.mark_published(row_id)
            self._counts["published"] += len(events)
            self._counts["batches"] += 1
            # Keep memory bounded while a long backlog drains: what arrived meanwhile goes
            # into the outbox behind it, in order.
            while len(self._buf) >= self._batch:
                self._accept(self._take())

    def _confirm(self) -> None:
        """Forget batches the database committed; publish again those never confirmed."""
        now = time.time()
        waiting = self._spool.published_before(now)
        if not waiting:
            return
        try:
            done = self._publisher.confirmed([batch_id for _, batch_id, _ in waiting])
        except Exception as exc:
            self._warn("cannot confirm committed batches (%s: %s)", type(exc).__name__, exc)
            return
        self._counts["confirmed"] += self._spool.remove([row for row, batch_id, _ in waiting if batch_id in done])
        lost = [row for row, batch_id, at in waiting if batch_id not in done and now - at > self._redeliver]
        if lost:
            again = self._spool.unpublish(lost)
            self._counts["republished"] += again
            log.warning("%d events published %.0fs ago were never committed: publishing again", again, self._redeliver)

    def _step(self) -> bool:
        """One round of work; False when there was nothing (or not yet enough) to ship."""
        events: list[dict[str, Any]] = []
        # A full batch goes at once; a partial one waits for the flush interval, so a steady
        # trickle still makes batches of a useful size (per-task overhead dominates tiny ones).
        now = time.monotonic()
        if len(self._buf) >= self._batch or (self._buf and (now >= self._ship_at or self._closing.is_set())):
            events = self._take()
            self._ship_at = now + self._flush
            self._accept(events)
        self._publish_pending()
        if time.monotonic() >= self._confirm_at:
            self._confirm_at = time.monotonic() + self._confirm_every
            self._confirm()
        return bool(events)

    def _run(self) -> None:
        while True:
            try:
                if self._step():
                    continue
                if self._closing.is_set() and not self._buf:
                    break
                self._closing.wait(self._flush)
            except Exception:  # the thread must survive anything; the events stay buffered
                log.exception("lifecycle sink thread error")
                time.sleep(self._flush)
        try:
            self._publisher.close()  # from this thread: its connections are thread-local
        except Exception:
            log.exception("closing the lifecycle publisher failed")

    # --- lifecycle ------------------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        counts = dict(self._counts)
        counts.update(
            buffered=len(self._buf),
            spool_pending=self._spool.pending,
            dropped_buffer_full=self._dropped_buffer,
            hook_errors=self._hook_errors,
        )
        return counts

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every event is committed by the store (True) or the timeout passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._buf and not self._spool.pending:
                return True
            time.sleep(0.01)
        return False

    def close(self, timeout: float = 10.0) -> bool:
        """Stop, after publishing what it holds and waiting (up to ``timeout``) for commits.

        Returns True when nothing is left only in memory. What is not confirmed in time stays
        in the spool file and is published again by the next sink opened on it.
        """
        deadline = time.monotonic() + timeout
        self._closing.set()
        self._thread.join(max(0.0, timeout))
        if not self._thread.is_alive():
            while self._spool.pending and time.monotonic() < deadline:
                self._publish_pending()
                self._confirm()
                if self._spool.pending:
                    time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        while self._buf:
            self._accept(self._take())
        while self._artifacts.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        try:
            self._publisher.close()
        except Exception:
            log.exception("closing the lifecycle publisher failed")
        return not self._buf
