"""Recordings for simulated calls: a short two-leg conversation as the gateway's SN3 blob.

Caller and agent take turns (tones of different pitch, so the two channels are easy to tell
apart when played), on one wall clock, with RTP sequence/timestamp as a real stack writes them.
Only G.711 calls get audio; other codecs get an empty payload (nothing recorded).
"""

from __future__ import annotations

import numpy as np

from cdr.media import Frame, build_sn3, encode_alaw, encode_ulaw
from cdr.simulator.model import SimCall

_FRAME = 160  # 20 ms at 8 kHz
_ENCODERS = {"pcmu": encode_ulaw, "pcma": encode_alaw}


def _tone(frequency: float, frames: int, phase: int) -> np.ndarray:
    t = (np.arange(frames * _FRAME) + phase) / 8000.0
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3.0 * t)  # a syllable-like rhythm
    return (6000 * envelope * np.sin(2 * np.pi * frequency * t)).astype(np.int16)


def sn3_conversation(call: SimCall, *, turns: int = 4, turn_seconds: float = 1.2) -> bytes:
    """SN3 blob of ``turns`` alternating turns, caller first, for a G.711 call (else b"")."""
    encode = _ENCODERS.get(call.meta.codec)
    if encode is None:
        return b""
    per_turn = int(turn_seconds * 50)
    frames: list[Frame] = []
    seq = [call.index * 7 % 65536, call.index * 13 % 65536]
    ts = [call.index * 977, call.index * 1999]
    for turn in range(turns):
        leg = turn % 2
        pcm = _tone(320.0 if leg == 0 else 540.0, per_turn, turn * per_turn * _FRAME)
        payload = encode(pcm)
        start = int(turn * (turn_seconds + 0.3) * 1e9)  # a 300 ms pause between turns
        for i in range(per_turn):
            frames.append(Frame(leg, seq[leg], ts[leg], start + i * 20_000_000, payload[i * _FRAME : (i + 1) * _FRAME]))
            seq[leg] += 1
            ts[leg] += _FRAME
    return build_sn3(frames)
