from __future__ import annotations

import struct
import tracemalloc

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cdr.media import Frame, build_sn3, parse_blob


def reference(blob: bytes) -> list[tuple[int, int, int, int, bytes]]:
    out, pos = [], 3
    while pos + 17 <= len(blob):
        d, seq, ts, wall, n = struct.unpack_from("<BHIQH", blob, pos)
        if pos + 17 + n > len(blob):
            break
        out.append((d, seq, ts, wall, blob[pos + 17 : pos + 17 + n]))
        pos += 17 + n
    return out


@settings(deadline=2000, max_examples=100)
@given(
    lengths=st.lists(st.sampled_from([160, 160, 160, 4, 1, 0, 80, 333]), min_size=1, max_size=120),
    cut=st.integers(0, 40),
)
def test_vectorised_walk_matches_struct_reference(lengths: list[int], cut: int) -> None:
    rng = np.random.default_rng(len(lengths))
    frames = [
        Frame(i % 3, i * 7, i * 1_000_003, i * 20_000_000 + 2**40, rng.integers(0, 256, n, dtype=np.uint8).tobytes())
        for i, n in enumerate(lengths)
    ]
    blob = build_sn3(frames)
    blob = blob[: len(blob) - cut] if cut else blob
    want = reference(blob)
    if not want:
        return
    got = parse_blob(blob)
    assert got.count == len(want)
    assert got.wall_ns is not None and got.seq is not None and got.rtp_ts is not None
    for i, (d, seq, ts, wall, payload) in enumerate(want):
        assert (int(got.direction[i]), int(got.seq[i]), int(got.rtp_ts[i]), int(got.wall_ns[i])) == (d, seq, ts, wall)
        assert got.payload(i) == payload
    consumed = 3 + sum(17 + len(w[4]) for w in want)
    assert got.trailing_bytes == len(blob) - consumed


def test_frames_of_changing_length_keep_no_run_probe_alive() -> None:
    # Opus-like: every frame a different length, so every run probe (4,096 offsets) finds a run of 1.
    frames = [Frame(i % 2, i, 960 * i, 20_000_000 * i, bytes(60 + i % 7)) for i in range(1000)]
    blob = build_sn3(frames)
    tracemalloc.start()
    try:
        table = parse_blob(blob)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert table.count == 1000 and table.length.tolist() == [60 + i % 7 for i in range(1000)]
    assert peak < 1 << 20  # columns of ~31 bytes per frame, not a 32 KiB probe per frame until the end
