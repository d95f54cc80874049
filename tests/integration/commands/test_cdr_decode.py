"""``manage.py cdr_decode``: run by manage.py without django.setup(), it is still the management
command (same arguments, help and output as through Django's own dispatch) and decodes exactly as
``python -m cdr.media decode`` does."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest
from django.core.management import call_command

from cdr.media import Frame, build_sn3

ROOT = Path(__file__).resolve().parents[3]


def blob() -> bytes:
    frames = [
        Frame(d, i, i * 160, (i * 20 + 7 * d) * 1_000_000, bytes([i % 200 + d]) * 160)
        for i in range(60)
        for d in (0, 1)
    ]
    return build_sn3(frames)


def run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CDR_VAR_DIR": str(tmp_path / "var")}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_same_wav_and_output_as_python_m_cdr_media(tmp_path: Path) -> None:
    src = tmp_path / "call.sn3"
    src.write_bytes(blob())
    by_manage = run(
        "manage.py", "cdr_decode", str(src), "--codec", "pcmu", "-o", str(tmp_path / "a.wav"), tmp_path=tmp_path
    )
    by_media = run(
        "-m", "cdr.media", "decode", str(src), "--codec", "pcmu", "-o", str(tmp_path / "b.wav"), tmp_path=tmp_path
    )
    assert (by_manage.returncode, by_manage.stderr) == (0, "")
    assert by_manage.stdout == f"{tmp_path / 'a.wav'}: 1.21 s, 8000 Hz stereo, 120 audio frames, 0 dropped\n"
    assert by_manage.stdout.replace("a.wav", "b.wav") == by_media.stdout
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


def test_help_is_the_one_django_dispatch_prints(tmp_path: Path) -> None:
    direct = run("manage.py", "cdr_decode", "--help", tmp_path=tmp_path)
    through_django = run(
        "-c",
        "import os, sys; os.environ['DJANGO_SETTINGS_MODULE'] = 'project.settings';"
        "from django.core.management import execute_from_command_line;"
        "execute_from_command_line(['manage.py', 'cdr_decode', '--help'])",
        tmp_path=tmp_path,
    )
    assert direct.returncode == through_django.returncode == 0
    assert direct.stdout == through_django.stdout
    assert "--snap-ms" in direct.stdout and "--skip-checks" in direct.stdout and "--settings" in direct.stdout


@pytest.mark.parametrize(
    ("content", "codec", "code", "needle"),
    [(b"RIFF....WAVE", "pcmu", 1, "not a recording"), (b"SN3", "mp3", 2, "unknown codec 'mp3'")],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(
    tmp_path: Path, content: bytes, codec: str, code: int, needle: str
) -> None:
    src = tmp_path / "in.sn3"
    src.write_bytes(content)
    proc = run("manage.py", "cdr_decode", str(src), "--codec", codec, "--skip-checks", "-o", "x.wav", tmp_path=tmp_path)
    assert proc.returncode == code
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], proc.stderr


def test_call_command_runs_it_in_process(tmp_path: Path) -> None:
    src, dst = tmp_path / "call.sn3", tmp_path / "out.wav"
    src.write_bytes(blob())
    out = io.StringIO()
    call_command("cdr_decode", str(src), "--codec", "pcmu", "-o", str(dst), stdout=out)
    assert out.getvalue() == f"{dst}: 1.21 s, 8000 Hz stereo, 120 audio frames, 0 dropped\n"
    with wave.open(str(dst)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (2, 2, 8000, 9656)
