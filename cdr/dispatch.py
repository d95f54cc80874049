"""The only code that hands work to Celery: by task name, after commit, with bounded broker time.

Services, sinks and the HTTP edge never import a task module: they name the task here, so the
core stays below the tasks (no import cycle) and a renamed task is one constant. The task
registry is reached lazily through the Celery app (``app.tasks[name]``), the one place where the
tasks are loaded on demand, as Zulip's ``queue_event_on_commit`` loads its workers.

Three ways in:
- ``enqueue`` / ``enqueue_on_commit``: an ordinary ``apply_async`` by name; in eager mode (the
  embedded default, ``task_always_eager``) Celery runs the task right here.
- ``BrokerSender``: a producer with short, hard socket timeouts, for threads that must never
  hang on a frozen broker (the lifecycle sink's publisher, the drain nudge).
- ``drain_nudge``: one background thread per process asks for a drain of the HTTP queue, so no
  request waits for the broker.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any

from django.db import transaction

from cdr.conf import cdr_setting

# Task names: the contract with queued messages, beat entries and the task modules.
EVENTS_INGEST = "cdr.events_ingest"
GATEWAY_BATCHES_DRAIN = "cdr.gateway_batches_drain"
RECORDING_UPLOAD = "cdr.recording_upload"
RECORDING_TRANSCODE = "cdr.recording_transcode"
TASK_NAMES = frozenset({EVENTS_INGEST, GATEWAY_BATCHES_DRAIN, RECORDING_UPLOAD, RECORDING_TRANSCODE})


def is_task_time_limit(exc: BaseException) -> bool:
    """Whether ``exc`` is a task's soft time limit passing (raised inside whatever the task runs).

    Services that run under a task let it through: it says nothing about the data at hand. Celery
    raises billiard's ``SoftTimeLimitExceeded``; a process that never loaded billiard cannot get
    one, so this imports nothing (importing celery.exceptions costs ~50 modules).
    """
    billiard = sys.modules.get("billiard.exceptions")
    return billiard is not None and isinstance(exc, billiard.SoftTimeLimitExceeded)


log = logging.getLogger("cdr.ingest")


def celery_app() -> Any:
    """The project's Celery app (loaded with Django), not a proxy."""
    from celery import current_app

    return current_app._get_current_object()


def is_eager() -> bool:
    """No broker, no worker, no beat: tasks run in the calling process (the embedded default)."""
    return bool(celery_app().conf.task_always_eager)


# One thread loads the tasks, the others wait for it: concurrent first calls (a gateway process's
# recording upload threads) otherwise saw a half-filled registry and raised NotRegistered.
_loading = threading.Lock()


def _task(name: str) -> Any:
    """The registered task ``name``. A project whose Celery app does not autodiscover (a bare
    project running eagerly) gets cdr's tasks registered here, by Celery's own loader."""
    app = celery_app()
    if name not in app.tasks:
        with _loading:
            if name not in app.tasks:
                app.autodiscover_tasks(["cdr"], force=True)
    return app.tasks[name]


def enqueue(name: str, *args: Any, **kwargs: Any) -> None:
    """Queue task ``name`` (routes apply: ``cdr.recording_*`` go to the media queue); eager: run it now."""
    _task(name).apply_async(args=args, kwargs=kwargs)


def enqueue_later(name: str, *args: Any, countdown: float) -> None:
    """Queue task ``name`` to run in ``countdown`` seconds; one attempt at the broker, raising if down."""
    _task(name).apply_async(args=args, countdown=countdown, retry=False)


def enqueue_on_commit(name: str, *args: Any, **kwargs: Any) -> None:
    """``enqueue`` once the caller's transaction commits (at once outside one); a broker error is
    logged, not raised into a committed write (``robust``): the periodic resume finds the work."""

    # A named function, not a partial: Django logs a robust hook's failure by its __qualname__.
    def enqueue_committed() -> None:
        enqueue(name, *args, **kwargs)

    transaction.on_commit(enqueue_committed, robust=True)


def run_here(name: str, *, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Run task ``name`` in this process and thread, raising what it raises (the eager sink)."""
    return _task(name).apply(args=args, kwargs=kwargs, throw=True).result


class BrokerSender:
    """Sends tasks by name through one broker connection with short, hard timeouts.

    A Redis that is down takes ~0.6 s to fail and a frozen one blocks forever without socket
    timeouts (docs/reference/measured-limits.md): every call here returns within ``timeout``
    or raises, and a half-broken connection is never reused.
    """

    def __init__(self, app: Any, *, timeout: float = 0.5, queue: str | None = None) -> None:
        self.app = app
        self.timeout = timeout
        self.queue = queue or app.conf.task_default_queue
        self._connection: Any = None
        self._producer: Any = None

    def _ensure(self) -> Any:
        if self._producer is None:
            options = dict(self.app.conf.broker_transport_options or {})
            options.update(socket_timeout=self.timeout, socket_connect_timeout=self.timeout, max_retries=0)
            self._connection = self.app.connection_for_write(transport_options=options, connect_timeout=self.timeout)
            self._connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=self.timeout)
            self._producer = self._connection.Producer(serializer="json")
        return self._producer

    def send(
        self, name: str, *, args: list[Any] | None = None, kwargs: dict[str, Any] | None = None, **options: Any
    ) -> None:
        try:
            self.app.send_task(
                name, args=args, kwargs=kwargs, queue=self.queue, producer=self._ensure(), retry=False, **options
            )
        except BaseException:
            self.release_broker()
            raise

    def release_broker(self) -> None:
        connection, self._connection, self._producer = self._connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception:
                pass


_local = threading.local()


def _nudge_sender() -> BrokerSender:
    """One broker connection per nudging thread, kept between nudges (for its broker URL)."""

    app = celery_app()
    sender = getattr(_local, "sender", None)
    if sender is None or getattr(_local, "broker_url", None) != app.conf.broker_url:
        sender = _local.sender = BrokerSender(app, timeout=cdr_setting("CDR_LIFECYCLE_SINK")["PUBLISH_TIMEOUT"])
        _local.broker_url = app.conf.broker_url
    return sender


def _nudge_now() -> None:
    try:
        _nudge_sender().send(GATEWAY_BATCHES_DRAIN)
    except Exception as exc:  # the events are safe in the table: the beat schedule drains them
        log.info("could not nudge %s (%s): queued events wait for its schedule", GATEWAY_BATCHES_DRAIN, exc)


class _Nudger:
    """One thread per process sends the nudges, so no request waits for the broker: a frozen
    Redis holds a publish for its whole timeout. Requests that commit while a nudge is on its
    way share the next one (a drain takes everything queued anyway)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def request(self) -> None:
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()  # a forked server process starts its own
                self._thread = threading.Thread(target=self._run, name="cdr-drain-nudge", daemon=True)
                self._thread.start()
            self._idle.clear()
            self._wanted.set()

    def _run(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            _nudge_now()
            with self._lock:
                if not self._wanted.is_set():
                    self._idle.set()

    def wait(self, timeout: float) -> bool:
        return self._idle.wait(timeout)


_nudger = _Nudger()


def drain_nudge() -> None:
    """Have a worker drain the HTTP queue soon (sent by a background thread; never blocks the
    caller). If the broker is down, the drain's beat schedule stores the events."""
    _nudger.request()


def drain_nudges_wait(timeout: float = 5.0) -> bool:
    """Wait until the nudges asked for so far were sent (or failed); False on timeout. For tests."""
    return _nudger.wait(timeout)
