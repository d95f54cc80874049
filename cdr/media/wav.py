"""Streaming 16-bit PCM WAV writer for binary file objects (seekable or not)."""

from __future__ import annotations

import struct
from typing import BinaryIO

import numpy as np
from numpy.typing import NDArray

_MAX_DATA = 0xFFFFFFFF - 36


def wav_header(sample_rate: int, channels: int, data_bytes: int) -> bytes:
    """RIFF/WAVE header for 16-bit little-endian PCM with ``data_bytes`` of samples."""
    block = 2 * channels
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + data_bytes,
        b"WAVE",
        b"fmt ",
        16,
        1,
        channels,
        sample_rate,
        sample_rate * block,
        block,
        16,
        b"data",
        data_bytes,
    )


class WavWriter:
    """Write interleaved int16 frames chunk by chunk.

    If ``n_frames`` is given the header is final from the start (works on pipes); otherwise
    the output must be seekable and the sizes are patched on ``close()``.
    """

    def __init__(self, out: BinaryIO, sample_rate: int, channels: int = 2, n_frames: int | None = None) -> None:
        if channels < 1:
            raise ValueError("channels must be >= 1")
        self._out = out
        self._rate = sample_rate
        self._channels = channels
        self._declared = None if n_frames is None else n_frames * 2 * channels
        if self._declared is not None and self._declared > _MAX_DATA:
            raise ValueError("audio too long for a WAV file (4 GiB limit)")
        self._start = out.tell() if n_frames is None else 0
        self._written = 0
        self._closed = False
        out.write(wav_header(sample_rate, channels, self._declared or 0))

    @property
    def frames_written(self) -> int:
        return self._written // (2 * self._channels)

    def write(self, frames: NDArray[np.int16]) -> None:
        """Write an array of shape (n, channels) or a flat interleaved int16 array."""
        data = np.ascontiguousarray(frames, dtype="<i2")
        if data.size % self._channels:
            raise ValueError("sample count is not a multiple of the channel count")
        if data.size == 0:
            return  # memoryview.cast refuses an empty buffer
        if self._written + data.nbytes > (self._declared if self._declared is not None else _MAX_DATA):
            raise ValueError("more audio than the WAV header declares")
        self._out.write(data.tobytes() if not data.flags.c_contiguous else data.data.cast("B"))
        self._written += data.nbytes

    def write_silence(self, n_frames: int) -> None:
        block = 1 << 16
        zeros = np.zeros((min(block, max(n_frames, 0)), self._channels), dtype=np.int16)
        left = n_frames
        while left > 0:
            step = min(left, block)
            self.write(zeros[:step])
            left -= step

    def close(self) -> None:
        """Finish the file (pads a declared length with silence; patches sizes otherwise)."""
        if self._closed:
            return
        self._closed = True
        if self._declared is not None:
            missing = (self._declared - self._written) // (2 * self._channels)
            if missing > 0:
                self.write_silence(missing)
            return
        end = self._out.tell()
        self._out.seek(self._start)
        self._out.write(wav_header(self._rate, self._channels, self._written))
        self._out.seek(end)

    def __enter__(self) -> WavWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
