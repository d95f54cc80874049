"""Writers for SN3 (and legacy SN2/SN1) blobs, used by tests, simulators and benchmarks."""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

_SN3 = struct.Struct("<BHIQH")
_SN2 = struct.Struct("<BHIH")
_SN1 = struct.Struct("<BH")


@dataclass(frozen=True, slots=True)
class Frame:
    """One captured RTP payload. ``seq``/``rtp_ts`` wrap like RTP (masked on write)."""

    direction: int
    seq: int
    rtp_ts: int
    wall_ns: int
    payload: bytes


def build_sn3(frames: Iterable[Frame]) -> bytes:
    """Encode frames (in capture order) as an SN3 blob."""
    parts = [b"SN3"]
    for f in frames:
        parts.append(_SN3.pack(f.direction & 0xFF, f.seq & 0xFFFF, f.rtp_ts & 0xFFFFFFFF, f.wall_ns, len(f.payload)))
        parts.append(f.payload)
    return b"".join(parts)


def build_sn2(frames: Iterable[Frame]) -> bytes:
    """Encode frames as a legacy SN2 blob (no wall clock)."""
    parts = [b"SN2"]
    for f in frames:
        parts.append(_SN2.pack(f.direction & 0xFF, f.seq & 0xFFFF, f.rtp_ts & 0xFFFFFFFF, len(f.payload)))
        parts.append(f.payload)
    return b"".join(parts)


def build_sn1(frames: Iterable[Frame]) -> bytes:
    """Encode frames as a legacy SN1 blob (arrival order only)."""
    parts = [b"SN1"]
    for f in frames:
        parts.append(_SN1.pack(f.direction & 0xFF, len(f.payload)))
        parts.append(f.payload)
    return b"".join(parts)
