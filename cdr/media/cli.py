"""Pure implementation of ``manage.py cdr_decode`` (no Django): exit code + one stderr line."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from cdr.media.codecs import CODECS
from cdr.media.decode import DecodeReport, decode_to_wav
from cdr.media.errors import DecodeError
from cdr.media.mapped import mapped_file


def decode_file(src: Path, dst: Path, codec: str, *, snap_ms: int = 80) -> DecodeReport:
    """Decode ``src`` (mapped, never read into memory) into ``dst`` atomically (temp file in the
    same folder, then rename)."""
    folder = dst.parent if str(dst.parent) else Path(".")
    with mapped_file(src) as blob:
        fd, tmp = tempfile.mkstemp(prefix=".cdr_decode-", suffix=".wav.part", dir=folder)
        try:
            with os.fdopen(fd, "wb") as out:
                report = decode_to_wav(blob, codec, out, snap_ms=snap_ms)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cdr_decode", description="Decode a recording blob to a stereo WAV.")
    parser.add_argument("input")
    parser.add_argument("--codec", required=True, choices=sorted(CODECS))
    parser.add_argument("--snap-ms", type=int, default=80)
    parser.add_argument("-o", "--output", required=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(args.input, args.output, args.codec, snap_ms=args.snap_ms)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
