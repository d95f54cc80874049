"""The hooks implemented for real: CeleryLifecycleSink and StorageRecordingSink."""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable

from cdr.conf import cdr_setting
from cdr.sinks.lifecycle import CeleryLifecycleSink
from cdr.sinks.recording import StorageRecordingSink, recording_sink_from_settings

__all__ = [
    "CeleryLifecycleSink",
    "StorageRecordingSink",
    "lifecycle_sink_current",
    "lifecycle_sink_from_settings",
    "recording_sink_from_settings",
]

_lock = threading.Lock()
_sink: CeleryLifecycleSink | None = None


def lifecycle_sink_from_settings(*, clock: Callable[[], int] | None = None) -> CeleryLifecycleSink:
    """The process-wide sink configured by CDR_LIFECYCLE_SINK, closed at interpreter exit.

    ``clock`` (ns since the epoch; default the wall clock) is taken by the call that creates the
    sink: a simulator that stamps hooks with simulated time (``cdr.simulator.SimClock``) must be
    the process's first caller, and asking for another clock later is an error.
    """
    global _sink
    with _lock:
        if _sink is None:
            from cdr.sinks.publish import publisher_from_settings

            conf = cdr_setting("CDR_LIFECYCLE_SINK")
            _sink = CeleryLifecycleSink(
                publisher=publisher_from_settings(),
                spool_path=cdr_setting("CDR_SPOOL_DIR") / "lifecycle.sqlite3",
                buffer_events=conf["BUFFER_EVENTS"],
                batch_events=conf["BATCH_EVENTS"],
                flush_seconds=conf["FLUSH_SECONDS"],
                spool_max_events=conf["SPOOL_MAX_EVENTS"],
                redeliver_seconds=conf["REDELIVER_SECONDS"],
                recordings=recording_sink_from_settings(),
                clock=clock,
            )
            atexit.register(_sink.close)
        elif clock is not None and _sink.clock is not clock:
            raise RuntimeError("the process-wide lifecycle sink already exists with another clock")
        return _sink


def lifecycle_sink_current() -> CeleryLifecycleSink | None:
    """This process's sink if it made one (``/metrics`` exports its counts), else None."""
    return _sink
