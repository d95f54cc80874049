"""Timeline placement of one leg's frames (RTP order inside spurts, wall clock between them)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

SEQ_BREAK = 1000  # a sequence jump this large starts a new RTP stream (new SSRC, transfer)
STREAM_BREAK_S = 60.0  # RTP time and wall time disagreeing by this much: new stream
_LATE_WINDOW = 5  # frames looked ahead when estimating a spurt's base (absorbs late packets)
_SEGMENT_STRIDE = 1 << 36


@dataclass(frozen=True, slots=True)
class Placement:
    """``order`` indexes the leg's frames in media order (duplicates removed);
    ``pos`` is each of those frames' first output sample; ``ext_seq`` its unwrapped sequence
    number and ``spurt`` the talk-spurt index (for concealment decisions)."""

    order: NDArray[np.int64]
    pos: NDArray[np.int64]
    ext_seq: NDArray[np.int64]
    spurt: NDArray[np.int64]


def _wrapped_diff(values: NDArray[np.int64], modulus: int) -> NDArray[np.int64]:
    half = modulus // 2
    out = np.diff(values)
    out += half
    out %= modulus
    out -= half
    return out


def _running_sum(steps: NDArray[np.int64] | NDArray[np.bool_]) -> NDArray[np.int64]:
    """``[0, steps[0], steps[0] + steps[1], ...]`` (one longer than ``steps``), without a copy."""
    out = np.zeros(steps.size + 1, dtype=np.int64)
    np.cumsum(steps, out=out[1:])
    return out


def _sequential(counts: NDArray[np.int64]) -> Placement:
    n = counts.size
    pos = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(counts)[:-1]]) if n else counts
    idx = np.arange(n, dtype=np.int64)
    return Placement(order=idx, pos=pos.astype(np.int64), ext_seq=idx, spurt=np.zeros(n, dtype=np.int64))


def place_leg(
    counts: NDArray[np.int64],
    seq: NDArray[np.uint16] | None,
    rtp_ts: NDArray[np.uint32] | None,
    wall_samples: NDArray[np.float64] | None,
    *,
    clock_rate: int,
    audio_per_tick: int,
    snap_samples: int,
) -> Placement:
    """Place frames given in capture order.

    ``counts`` are output samples per frame, ``wall_samples`` the capture time in output samples
    since the shared origin (None for SN2), ``audio_per_tick`` output samples per RTP tick.
    Without seq/ts (SN1, raw) frames are simply appended in arrival order.
    """
    n = int(counts.size)
    if n == 0 or seq is None or rtp_ts is None:
        return _sequential(counts)
    # Arrays of n int64s are most of a long recording's decoding memory: each is dropped as soon
    # as it is used and the running sums are taken in place.
    dseq = _wrapped_diff(seq.astype(np.int64), 1 << 16)
    dts = _wrapped_diff(rtp_ts.astype(np.int64), 1 << 32)
    brk = np.abs(dseq) > SEQ_BREAK
    limit = STREAM_BREAK_S * clock_rate
    if wall_samples is not None:
        dwall = np.diff(wall_samples) / audio_per_tick
        dwall -= dts
        brk |= np.abs(dwall) > limit
        del dwall
    else:
        brk |= np.abs(dts) > limit
    segment = _running_sum(brk)
    dseq[brk] = 0
    ext_seq = _running_sum(dseq)
    del dseq
    ext_seq += segment * _SEGMENT_STRIDE
    dts[brk] = 0
    del brk
    ext_ts = _running_sum(dts)
    del dts

    order = np.argsort(ext_seq, kind="stable")
    sorted_seq = ext_seq[order]
    del ext_seq
    keep = np.concatenate([[True], np.diff(sorted_seq) != 0])
    if not keep.all():
        order = order[keep]
        sorted_seq = sorted_seq[keep]
    del keep
    seg = segment[order]
    del segment
    rel = ext_ts[order]
    del ext_ts
    rel *= audio_per_tick
    m = order.size

    boundary = np.concatenate([[True], seg[1:] != seg[:-1]])
    del seg
    if wall_samples is None:
        base_d = np.zeros(m, dtype=np.float64)
    else:
        base_d = wall_samples[order].astype(np.float64, copy=False)
        base_d -= rel
        local = base_d.copy()  # min over each frame and the next _LATE_WINDOW - 1 (fewer at the end)
        for k in range(1, _LATE_WINDOW):
            np.minimum(local[:-k], base_d[k:], out=local[:-k])
        boundary[1:] |= np.diff(local) > snap_samples
        del local
    starts = np.flatnonzero(boundary)
    spurt = np.cumsum(boundary)
    del boundary
    spurt -= 1
    first_rel = rel[starts]
    wall_start = np.minimum.reduceat(base_d, starts) + first_rel if wall_samples is not None else None
    del base_d
    cnt = counts[order].astype(np.int64, copy=False)
    cnt += rel
    extent = np.maximum.reduceat(cnt, starts) - first_rel
    del cnt
    min_rel = np.minimum.reduceat(rel, starts) - first_rel

    bases = np.empty(starts.size, dtype=np.int64)
    prev_end: int | None = None
    ext_list = extent.tolist()
    min_list = min_rel.tolist()
    wall_list = np.rint(wall_start).tolist() if wall_start is not None else None
    for s in range(starts.size):
        head = -int(min_list[s])  # frames earlier than the spurt's first in seq order
        if wall_list is None:
            base = (prev_end if prev_end is not None else 0) + head
        else:
            base = max(int(wall_list[s]), head)
            if prev_end is not None and base - head - prev_end < snap_samples:
                base = prev_end + head
        bases[s] = base
        prev_end = base + int(ext_list[s])
    rel -= first_rel[spurt]
    rel += bases[spurt]
    return Placement(order=order.astype(np.int64, copy=False), pos=rel, ext_seq=sorted_seq, spurt=spurt)
