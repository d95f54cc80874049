"""Live PCM taps: two mono PCM16 LE streams (caller, agent) -> one stereo WAV on a shared clock."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable
from typing import BinaryIO

import numpy as np

from cdr.media.wav import WavWriter

SPOOL_BYTES = 1 << 20  # per channel, kept in memory before spilling to a temp file


class TapRecorder:
    """Thread-safe recorder for the stack's PCM taps.

    ``write(channel, pcm)`` copies a mono PCM16 LE chunk (0 = caller, 1 = agent). The first chunk
    of either channel defines the time origin. A chunk that arrives later than the end of what
    its channel already holds (by more than ``gap_tolerance_s``) starts at its arrival time;
    otherwise it is appended contiguously. Audio is spooled to temp files past ``spool_bytes``.
    """

    def __init__(
        self,
        sample_rate: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        gap_tolerance_s: float = 0.08,
        spool_bytes: int = SPOOL_BYTES,
    ) -> None:
        if sample_rate <= 0:
            raise ValueError("sample_rate must be positive")
        self.sample_rate = sample_rate
        self._clock = clock
        self._tolerance = int(gap_tolerance_s * sample_rate)
        self._lock = threading.Lock()
        self._origin: float | None = None
        self._files = [tempfile.SpooledTemporaryFile(max_size=spool_bytes) for _ in range(2)]
        self._segments: list[list[tuple[int, int, int]]] = [[], []]  # (position, file offset, samples)
        self._ends = [0, 0]
        self._sizes = [0, 0]
        self._closed = False

    def write(self, channel: int, pcm: bytes | bytearray | memoryview) -> None:
        if channel not in (0, 1):
            raise ValueError(f"channel must be 0 (caller) or 1 (agent), got {channel!r}")
        data = bytes(pcm)
        if len(data) % 2:
            data = data[:-1]
        now = self._clock()
        with self._lock:
            if self._closed:
                raise ValueError("recorder is closed")
            if not data:
                return
            if self._origin is None:
                self._origin = now
            arrival = round((now - self._origin) * self.sample_rate)
            samples = len(data) // 2
            end = self._ends[channel]
            start = arrival if arrival - end > self._tolerance else end
            segments = self._segments[channel]
            if segments and segments[-1][0] + segments[-1][2] == start:
                pos, off, n = segments[-1]
                segments[-1] = (pos, off, n + samples)
            else:
                segments.append((start, self._sizes[channel], samples))
            self._files[channel].write(data)
            self._sizes[channel] += len(data)
            self._ends[channel] = start + samples

    @property
    def duration_s(self) -> float:
        with self._lock:
            return max(self._ends) / self.sample_rate

    def write_wav(self, out: BinaryIO, block: int = 1 << 16) -> int:
        """Write the stereo WAV (channel 0 caller, 1 agent); returns frames written. Closes the recorder."""
        with self._lock:
            self._closed = True
            total = max(self._ends)
            with WavWriter(out, self.sample_rate, channels=2, n_frames=total) as writer:
                for w0 in range(0, total, block):
                    w1 = min(total, w0 + block)
                    buf = np.zeros((w1 - w0, 2), dtype=np.int16)
                    for ch in (0, 1):
                        self._fill(ch, buf, w0, w1)
                    writer.write(buf)
            return total

    def _fill(self, channel: int, buf: np.ndarray, w0: int, w1: int) -> None:
        f = self._files[channel]
        for pos, off, n in self._segments[channel]:
            lo, hi = max(pos, w0), min(pos + n, w1)
            if lo >= hi:
                continue
            f.seek(off + 2 * (lo - pos))
            chunk = np.frombuffer(f.read(2 * (hi - lo)), dtype="<i2")
            buf[lo - w0 : lo - w0 + chunk.size, channel] = chunk

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for f in self._files:
                f.close()

    def __enter__(self) -> TapRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
