"""Simulated time for the sinks: each hook is observed at its step's planned instant.

A real gateway fires a hook when the call gets there, and the sink stamps it with the wall clock.
The simulator fires steps faster (or slower) than their planned times, so a wall-clock stamp
would put ringing after the end of a call. ``SimClock`` is the sink's clock during a run: the
runner sets, per thread, the planned instant of the step it delivers, and the sink reads it.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime


class SimClock:
    """A ``clock`` for ``CeleryLifecycleSink``/``HttpGateway``: ns since the epoch."""

    def __init__(self) -> None:
        self._local = threading.local()

    def set(self, at: datetime) -> None:
        """The instant this thread's next hook calls are observed at."""
        self._local.ns = int(at.timestamp()) * 1_000_000_000 + at.microsecond * 1000

    def __call__(self) -> int:
        """The instant set by this thread, or the wall clock outside a simulated run."""
        ns: int | None = getattr(self._local, "ns", None)
        return time.time_ns() if ns is None else ns
