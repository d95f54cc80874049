"""The decoder's command line, shared by ``python -m cdr.media decode`` and ``manage.py cdr_decode``
(no Django): the same arguments, output, and exit code with one stderr line.

Arguments are checked before the decoder (and numpy) is loaded: ``--help`` and usage errors cost
only the interpreter's start.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import cdr.media as media  # decode_to_wav is looked up when decoding (the package loads it lazily)
from cdr.media.codecs import CODECS
from cdr.media.errors import DecodeError
from cdr.media.mapped import mapped_file

if TYPE_CHECKING:
    from cdr.media.decode import DecodeReport

DESCRIPTION = "Decode a recording blob (SN3/SN2/SN1/raw G.711) to a 16-bit stereo WAV (left caller, right agent)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The decode arguments, for argparse and for the management command's parser alike."""
    parser.add_argument("input", help="recording blob file")
    parser.add_argument("--codec", required=True, help="one of: " + ", ".join(CODECS))
    parser.add_argument("--snap-ms", default="80", help="jitter gaps shorter than this are closed (10-500)")
    parser.add_argument("-o", "--output", required=True, help="WAV file to write")


def decode_file(src: Path, dst: Path, codec: str, *, snap_ms: int = 80) -> DecodeReport:
    """Decode ``src`` (mapped, never read into memory) into ``dst`` atomically (temp file in the
    same folder, then rename)."""
    folder = dst.parent if str(dst.parent) else Path(".")
    with mapped_file(src) as blob:
        fd, tmp = tempfile.mkstemp(prefix=".cdr_decode-", suffix=".wav.part", dir=folder)
        try:
            with os.fdopen(fd, "wb") as out:
                report = media.decode_to_wav(blob, codec, out, snap_ms=snap_ms)
            os.replace(tmp, dst)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return report


def run(
    src: str,
    dst: str,
    codec: str,
    *,
    snap_ms: int | str = 80,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Decode and report; returns the process exit code (0 ok, 1 bad input, 2 usage)."""
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    if codec.strip().lower() not in CODECS:
        err.write(f"error: unknown codec {codec!r} (expected one of: {', '.join(CODECS)})\n")
        return 2
    try:
        snap = int(snap_ms)
    except ValueError:
        err.write(f"error: --snap-ms must be an integer, got {snap_ms!r}\n")
        return 2
    try:
        report = decode_file(Path(src), Path(dst), codec, snap_ms=snap)
    except (DecodeError, ValueError) as exc:
        err.write(f"error: {src}: {exc}\n")
        return 1
    except OSError as exc:
        err.write(f"error: {exc.filename or src}: {exc.strerror or exc}\n")
        return 1
    for warning in report.warnings:
        err.write(f"warning: {warning}\n")
    out.write(
        f"{dst}: {report.duration_s:.2f} s, {report.sample_rate} Hz stereo, {report.audio_frames} audio frames,"
        f" {report.dropped_frames} dropped\n"
    )
    return 0


def build_parser(prog: str = "cdr_decode") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None, *, prog: str = "cdr_decode") -> int:
    args = build_parser(prog).parse_args(argv)
    return run(args.input, args.output, args.codec, snap_ms=args.snap_ms)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
