"""Random and truncated inputs: only domain exceptions, never a crash or a hang."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdr.media import DecodeError, EmptyRecordingError, Frame, RecordingFormatError, build_sn3, decode_to_wav

CODECS = st.sampled_from(["pcmu", "pcma", "g722", "opus"])
FAST = settings(deadline=3000, max_examples=150, suppress_health_check=[HealthCheck.too_slow])


def attempt(blob: bytes, codec: str) -> None:
    try:
        decode_to_wav(blob, codec, io.BytesIO(), max_duration_s=30)
    except DecodeError:
        pass


@FAST
@given(prefix=st.sampled_from([b"", b"SN3", b"SN2", b"SN1"]), body=st.binary(max_size=3000), codec=CODECS)
def test_random_bytes(prefix: bytes, body: bytes, codec: str) -> None:
    attempt(prefix + body, codec)


frame = st.builds(
    Frame,
    direction=st.integers(0, 3),
    seq=st.integers(0, 0xFFFF),
    rtp_ts=st.integers(0, 0xFFFFFFFF),
    wall_ns=st.one_of(st.integers(0, 5 * 10**9), st.integers(0, 2**64 - 1)),
    payload=st.one_of(st.binary(min_size=0, max_size=200), st.just(b"\xff" * 160)),
)


@FAST
@given(frames=st.lists(frame, max_size=40), cut=st.integers(0, 10_000), codec=CODECS)
def test_structured_and_truncated(frames: list[Frame], cut: int, codec: str) -> None:
    blob = build_sn3(frames)
    attempt(blob[: max(cut, 0)] if cut < len(blob) else blob, codec)


@pytest.mark.parametrize("blob", [b"", b"SN3", b"SN3\x00\x01", b"SN2\x00"])
def test_empty_inputs_raise_empty_recording(blob: bytes) -> None:
    with pytest.raises(EmptyRecordingError):
        decode_to_wav(blob, "pcmu", io.BytesIO())


@pytest.mark.parametrize("blob", [b"RIFF\x00\x00\x00\x00WAVE", b"OggS\x00\x02", b"SN9abc"])
def test_foreign_files_are_not_recordings(blob: bytes) -> None:
    with pytest.raises(RecordingFormatError):
        decode_to_wav(blob, "pcmu", io.BytesIO())


def test_large_blob_parses_fast() -> None:
    import time

    import numpy as np

    from cdr.media import parse_blob

    n = 360_000
    rec = np.dtype([("dir", "u1"), ("seq", "<u2"), ("ts", "<u4"), ("wall", "<u8"), ("len", "<u2"), ("p", "u1", 160)])
    table = np.zeros(n, dtype=rec)
    table["dir"] = np.arange(n) % 2
    table["len"] = 160
    table["len"][::1000] = 160  # uniform run
    blob = b"SN3" + table.tobytes() + build_sn3([Frame(0, 1, 2, 3, b"\x01\x02\x03\x04")])[3:]
    start = time.perf_counter()
    parsed = parse_blob(blob)
    assert time.perf_counter() - start < 1.0
    assert parsed.count == n + 1 and int(parsed.length[-1]) == 4 and parsed.trailing_bytes == 0
