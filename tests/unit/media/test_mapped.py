"""mapped_file: a recording file decoded from a read-only map, as if it were bytes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from cdr.media import EmptyRecordingError, build_sn3, decode_to_wav, mapped_file

from .helpers import by_wall, leg, ramp_payloads


def test_a_mapped_file_decodes_exactly_like_its_bytes(tmp_path: Path) -> None:
    blob = build_sn3(by_wall(leg(ramp_payloads(50, 1), 0) + leg(ramp_payloads(40, 2), 1, wall0_ms=330)))
    path = tmp_path / "call.sn3"
    path.write_bytes(blob[:-7])  # truncated: the warning must match too
    from_bytes, from_map = io.BytesIO(), io.BytesIO()
    want = decode_to_wav(blob[:-7], "pcmu", from_bytes)
    with mapped_file(path) as view:
        assert view.readonly and view.nbytes == len(blob) - 7
        got = decode_to_wav(view, "pcmu", from_map)
    assert got == want and got.truncated
    assert from_map.getvalue() == from_bytes.getvalue()
    with pytest.raises(ValueError, match="released"):
        view.tobytes()  # unmapped on exit


def test_an_empty_file_is_an_empty_recording_not_an_mmap_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.sn3"
    path.write_bytes(b"")
    with mapped_file(path) as view, pytest.raises(EmptyRecordingError, match=r"empty \(0 bytes\)"):
        decode_to_wav(view, "pcmu", io.BytesIO())


def test_a_decode_error_leaves_the_map_to_be_freed_with_the_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.sn3"
    path.write_bytes(build_sn3(leg(ramp_payloads(5, 3), 2)))  # no caller or agent frame
    with pytest.raises(EmptyRecordingError), mapped_file(path) as view:
        decode_to_wav(view, "pcmu", io.BytesIO())


def test_a_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError), mapped_file(tmp_path / "nope.sn3"):
        pass
