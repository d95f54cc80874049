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
    return ((np.diff(values) + half) % modulus) - half


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
    dseq = _wrapped_diff(seq.astype(np.int64), 1 << 16)
    dts = _wrapped_diff(rtp_ts.astype(np.int64), 1 << 32)
    brk = np.abs(dseq) > SEQ_BREAK
    limit = STREAM_BREAK_S * clock_rate
    if wall_samples is not None:
        dwall = np.diff(wall_samples) / audio_per_tick
        brk |= np.abs(dts - dwall) > limit
    else:
        brk |= np.abs(dts) > limit
    segment = np.concatenate([[0], np.cumsum(brk)]).astype(np.int64)
    ext_seq = np.concatenate([[0], np.cumsum(np.where(brk, 0, dseq))]) + segment * _SEGMENT_STRIDE
    ext_ts = np.concatenate([[0], np.cumsum(np.where(brk, 0, dts))]).astype(np.int64)

    order = np.argsort(ext_seq, kind="stable")
    sorted_seq = ext_seq[order]
    keep = np.concatenate([[True], np.diff(sorted_seq) != 0])
    order = order[keep]
    sorted_seq = sorted_seq[keep]
    seg = segment[order]
    rel = ext_ts[order] * audio_per_tick
    cnt = counts[order]
    m = order.size

    new_seg = np.concatenate([[True], seg[1:] != seg[:-1]])
    if wall_samples is None:
        boundary = new_seg
        base_d = np.zeros(m, dtype=np.float64)
    else:
        d = wall_samples[order] - rel
        padded = np.concatenate([d, np.full(_LATE_WINDOW - 1, np.inf)])
        local = np.lib.stride_tricks.sliding_window_view(padded, _LATE_WINDOW).min(axis=1)
        boundary = new_seg | np.concatenate([[True], np.diff(local) > snap_samples])
        base_d = d
    starts = np.flatnonzero(boundary)
    spurt = np.cumsum(boundary) - 1
    first_rel = rel[starts]
    wall_start = np.minimum.reduceat(base_d, starts) + first_rel if wall_samples is not None else None
    extent = np.maximum.reduceat(rel + cnt, starts) - first_rel
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
    pos = bases[spurt] + (rel - first_rel[spurt])
    return Placement(order=order.astype(np.int64), pos=pos.astype(np.int64), ext_seq=sorted_seq, spurt=spurt)
