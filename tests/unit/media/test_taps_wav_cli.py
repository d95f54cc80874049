from __future__ import annotations

import io
import threading
import wave
from pathlib import Path

import numpy as np
import pytest

from cdr.media import TapRecorder, WavWriter, build_sn3
from cdr.media.cli import main, run

from .helpers import leg, ramp_payloads


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def read_wav(data: bytes) -> tuple[int, np.ndarray]:
    with wave.open(io.BytesIO(data)) as w:
        return w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, w.getnchannels())


def pcm(values: list[int] | np.ndarray) -> bytes:
    return np.asarray(values, dtype="<i2").tobytes()


def test_tap_recorder_shared_origin_gaps_and_spooling() -> None:
    clock = FakeClock()
    rec = TapRecorder(8000, clock=clock, spool_bytes=64)
    rec.write(0, pcm(np.full(160, 1)))  # origin
    clock.now += 0.02
    rec.write(0, pcm(np.full(160, 2)))  # contiguous
    clock.now += 0.5
    rec.write(1, pcm(np.full(160, 3)))  # agent starts at 520 ms
    rec.write(0, pcm(np.full(160, 4)))  # caller after a pause: at its arrival time
    clock.now += 0.005
    rec.write(1, pcm(np.full(160, 5)))  # jitter: appended
    out = io.BytesIO()
    assert rec.write_wav(out) == 4160 + 320
    rate, data = read_wav(out.getvalue())
    assert rate == 8000
    left, right = data[:, 0], data[:, 1]
    assert (left[:160] == 1).all() and (left[160:320] == 2).all() and not left[320:4160].any()
    assert (left[4160:4320] == 4).all()
    assert not right[:4160].any() and (right[4160:4320] == 3).all() and (right[4320:4480] == 5).all()
    with pytest.raises(ValueError):
        rec.write(2, b"\x00\x00")


def test_tap_recorder_threads() -> None:
    rec = TapRecorder(8000, clock=lambda: 0.0)

    def worker(ch: int) -> None:
        for i in range(200):
            rec.write(ch, pcm(np.full(80, i + 1)))

    threads = [threading.Thread(target=worker, args=(c,)) for c in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out = io.BytesIO()
    rec.write_wav(out)
    _, data = read_wav(out.getvalue())
    expected = np.repeat(np.arange(1, 201), 80)
    assert np.array_equal(data[:, 0], expected) and np.array_equal(data[:, 1], expected)


class Pipe(io.RawIOBase):
    """Write-only, non-seekable sink."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        data = bytes(b)  # type: ignore[call-overload]
        self.chunks.append(data)
        return len(data)


def test_wav_writer_declared_length_on_pipe_and_patching_on_file() -> None:
    pipe = Pipe()
    with WavWriter(pipe, 16000, channels=2, n_frames=3) as w:  # type: ignore[arg-type]
        w.write(np.array([[1, 2], [3, 4]], dtype=np.int16))
    rate, data = read_wav(b"".join(pipe.chunks))
    assert rate == 16000 and data.tolist() == [[1, 2], [3, 4], [0, 0]]
    buf = io.BytesIO()
    with WavWriter(buf, 8000, channels=1) as w:
        w.write(np.arange(5, dtype=np.int16))
    assert read_wav(buf.getvalue())[1].ravel().tolist() == [0, 1, 2, 3, 4]


def test_cli_ok_and_truncated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blob = build_sn3(leg(ramp_payloads(5, 1), 0))
    src, dst = tmp_path / "in.sn3", tmp_path / "out.wav"
    src.write_bytes(blob[:-10])
    assert main([str(src), "--codec", "pcmu", "-o", str(dst)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("warning:") and "truncated" in err[0]
    assert read_wav(dst.read_bytes())[1].shape == (640, 2)


@pytest.mark.parametrize(
    ("content", "codec", "code", "needle"),
    [
        (b"", "pcmu", 1, "empty"),
        (b"SN3\x00", "pcmu", 1, "no whole frame"),
        (b"RIFF....WAVE", "pcma", 1, "not a recording"),
        (b"\xff" * 10, "mp3", 2, "unknown codec"),
        (None, "pcmu", 1, "No such file"),
    ],
)
def test_cli_bad_input(tmp_path: Path, content: bytes | None, codec: str, code: int, needle: str) -> None:
    src, dst = tmp_path / "in.bin", tmp_path / "out.wav"
    if content is not None:
        src.write_bytes(content)
    err = io.StringIO()
    assert run(str(src), str(dst), codec, stderr=err, stdout=io.StringIO()) == code
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0]
    assert list(tmp_path.iterdir()) == ([src] if content is not None else [])


def test_writing_no_frames_is_a_no_op() -> None:
    import io

    import numpy as np

    from cdr.media import WavWriter

    out = io.BytesIO()
    writer = WavWriter(out, 8000)
    writer.write(np.zeros((0, 2), dtype=np.int16))
    writer.close()
    assert len(out.getvalue()) == 44
