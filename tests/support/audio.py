"""Known audio for the recording tests: a two-leg PCMU call built with cdr.media, and WAV reading."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from cdr.media import Frame, build_sn3, decode_ulaw, encode_ulaw

RATE = 8000
FRAME = 160  # 20 ms at 8 kHz
MS = 1_000_000


@dataclass(frozen=True)
class Conversation:
    blob: bytes
    expected: NDArray[np.int16]  # (frames, 2): what a correct decoder must produce


def conversation(seed: int = 1, caller_s: float = 1.0, pause_s: float = 0.5, agent_s: float = 1.0) -> Conversation:
    """The caller talks, a pause, then the agent answers: both placed on one wall clock.

    The agent's frames are captured (and written) interleaved by wall time, as the stack does.
    """
    rng = np.random.default_rng(seed)
    n_caller, n_agent = round(caller_s * 50), round(agent_s * 50)
    samples = rng.integers(-20000, 20000, size=(n_caller + n_agent) * FRAME)
    codes = encode_ulaw(samples)
    frames = []
    for i in range(n_caller):
        frames.append(Frame(0, 1000 + i, 5000 + i * FRAME, i * 20 * MS, codes[i * FRAME : (i + 1) * FRAME]))
    agent0 = caller_s + pause_s
    for i in range(n_agent):
        p = codes[(n_caller + i) * FRAME : (n_caller + i + 1) * FRAME]
        frames.append(Frame(1, 60000 + i, 90000 + i * FRAME, int((agent0 * 1000 + i * 20) * MS), p))
    frames.sort(key=lambda f: f.wall_ns)
    total = round((agent0 + agent_s) * RATE)
    expected = np.zeros((total, 2), dtype=np.int16)
    pcm = decode_ulaw(codes)
    expected[: n_caller * FRAME, 0] = pcm[: n_caller * FRAME]
    start = round(agent0 * RATE)
    expected[start : start + n_agent * FRAME, 1] = pcm[n_caller * FRAME :]
    return Conversation(blob=build_sn3(frames), expected=expected)


def read_wav(data: bytes) -> tuple[int, int, int, NDArray[np.int16]]:
    """(channels, sample width, rate, frames as (n, channels) int16)."""
    with wave.open(io.BytesIO(data)) as w:
        channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, channels)
    return channels, width, rate, frames
