"""Shared builders for the media tests: known audio -> frames -> blob -> decoded stereo array."""

from __future__ import annotations

import io
import wave

import numpy as np
from numpy.typing import NDArray

from cdr.media import DecodeReport, Frame, decode_to_wav, encode_ulaw

MS = 1_000_000  # ns


def ramp_payloads(n: int, seed: int, size: int = 160) -> list[bytes]:
    """n distinct mu-law payloads (random codes, never silence) so positions are unambiguous."""
    rng = np.random.default_rng(seed)
    samples = rng.integers(-20000, 20000, size=n * size)
    samples[np.abs(samples) < 100] = 1000
    code = encode_ulaw(samples)
    return [code[i * size : (i + 1) * size] for i in range(n)]


def leg(
    payloads: list[bytes],
    direction: int,
    *,
    seq0: int = 0,
    ts0: int = 0,
    wall0_ms: float = 0.0,
    ts_step: int = 160,
    frame_ms: float = 20.0,
) -> list[Frame]:
    """Frames of a continuous talk spurt (seq/ts/wall advancing together)."""
    return [
        Frame(direction, seq0 + i, ts0 + i * ts_step, int((wall0_ms + i * frame_ms) * MS), p)
        for i, p in enumerate(payloads)
    ]


def by_wall(frames: list[Frame]) -> list[Frame]:
    return sorted(frames, key=lambda f: f.wall_ns)


def decode(blob: bytes, codec: str = "pcmu", **kw: object) -> tuple[NDArray[np.int16], DecodeReport, int]:
    out = io.BytesIO()
    report = decode_to_wav(blob, codec, out, **kw)  # type: ignore[arg-type]
    with wave.open(io.BytesIO(out.getvalue())) as w:
        assert w.getnchannels() == 2
        assert w.getsampwidth() == 2
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, 2)
    return data, report, rate
