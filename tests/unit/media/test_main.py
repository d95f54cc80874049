"""``python -m cdr.media decode``: the decoder as a process of its own, without Django."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from cdr.media import build_sn3, decode_to_wav

from .helpers import by_wall, leg, ramp_payloads

ROOT = Path(__file__).resolve().parents[3]

# Runs ``python -m cdr.media ARGS...`` in this interpreter, then prints which of these packages it
# loaded (one line on stdout, after the command's own output).
_REPORT_IMPORTS = """\
import runpy, sys
sys.argv[0] = "cdr.media"
try:
    runpy.run_module("cdr.media", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code
else:
    code = 0
sys.stdout.flush()
print("loaded:", sorted({m.split(".")[0] for m in sys.modules} & {"celery", "django", "numpy", "project"}))
sys.exit(code)
"""


def media(*args: str, report_imports: bool = False) -> subprocess.CompletedProcess[str]:
    # No DJANGO_SETTINGS_MODULE, no PYTHONPATH: the package is found from the working directory.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    cmd = (
        [sys.executable, "-c", _REPORT_IMPORTS, *args] if report_imports else [sys.executable, "-m", "cdr.media", *args]
    )
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def two_legs() -> bytes:
    return build_sn3(by_wall(leg(ramp_payloads(50, 1), 0) + leg(ramp_payloads(40, 2), 1, seq0=900, wall0_ms=330)))


def test_decode_writes_the_wav_the_library_writes(tmp_path: Path) -> None:
    blob = two_legs()
    src, dst = tmp_path / "call.sn3", tmp_path / "out.wav"
    src.write_bytes(blob)
    proc = media("decode", str(src), "--codec", "pcmu", "-o", str(dst))
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == f"{dst}: 1.13 s, 8000 Hz stereo, 90 audio frames, 0 dropped\n"
    with wave.open(str(dst)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (2, 2, 8000, 9040)
    want = io.BytesIO()
    decode_to_wav(blob, "pcmu", want)
    assert dst.read_bytes() == want.getvalue()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["call.sn3", "out.wav"]  # no temp file left


def test_snap_window_and_warnings_as_in_the_library(tmp_path: Path) -> None:
    src, dst = tmp_path / "call.sn3", tmp_path / "out.wav"
    src.write_bytes(two_legs()[:-10])
    proc = media("decode", str(src), "--codec", "PCMU", "--snap-ms", "120", "-o", str(dst))
    assert proc.returncode == 0
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith("warning: recording is truncated")
    want = io.BytesIO()
    decode_to_wav(two_legs()[:-10], "pcmu", want, snap_ms=120)
    assert dst.read_bytes() == want.getvalue()


@pytest.mark.parametrize(
    ("content", "args", "code", "needle"),
    [
        (b"", (), 1, "recording is empty"),
        (b"RIFF....WAVE", (), 1, "not a recording"),
        (b"SN3\x00", (), 1, "no whole frame"),
        (None, (), 1, "No such file"),
        (b"SN3", ("--codec", "mp3"), 2, "unknown codec 'mp3'"),
        (b"SN3", ("--snap-ms", "soon"), 2, "--snap-ms must be an integer"),
        (b"SN3", ("--snap-ms", "5"), 1, "snap window must be an integer between 10 and 500"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_a_non_zero_exit(
    tmp_path: Path, content: bytes | None, args: tuple[str, ...], code: int, needle: str
) -> None:
    src, dst = tmp_path / "in.sn3", tmp_path / "out.wav"
    if content is not None:
        src.write_bytes(content)
    proc = media("decode", str(src), "--codec", "pcmu", "-o", str(dst), *args)
    assert proc.returncode == code
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], proc.stderr
    assert proc.stdout == ""
    assert list(tmp_path.iterdir()) == ([src] if content is not None else [])  # nothing written


def test_usage_errors_exit_2() -> None:
    for args in ((), ("encode",), ("decode", "in.sn3", "-o", "out.wav")):
        proc = media(*args)
        assert proc.returncode == 2 and "error:" in proc.stderr and proc.stdout == ""


def test_decoding_loads_neither_django_nor_celery(tmp_path: Path) -> None:
    src, dst = tmp_path / "call.sn3", tmp_path / "out.wav"
    src.write_bytes(two_legs())
    proc = media("decode", str(src), "--codec", "pcmu", "-o", str(dst), report_imports=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "loaded: ['numpy']"


def test_help_and_argument_errors_do_not_load_numpy(tmp_path: Path) -> None:
    helped = media("decode", "--help", report_imports=True)
    assert helped.returncode == 0 and "--snap-ms" in helped.stdout
    assert helped.stdout.splitlines()[-1] == "loaded: []"
    wrong = media("decode", str(tmp_path / "x"), "--codec", "mp3", "-o", "y.wav", report_imports=True)
    assert wrong.returncode == 2 and wrong.stdout.splitlines()[-1] == "loaded: []"
