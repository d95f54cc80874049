"""``manage.py cdr_decode INPUT --codec pcmu|pcma|g722|opus [--snap-ms N] -o OUT.wav``.

A thin wrapper: all logic (and its tests) lives in :mod:`cdr.media.cli`.
"""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from cdr.media.cli import run
from cdr.media.codecs import CODECS


class Command(BaseCommand):
    help = "Decode a recording blob (SN3/SN2/SN1/raw G.711) to a 16-bit stereo WAV (left caller, right agent)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("input", help="recording blob file")
        parser.add_argument("--codec", required=True, help="one of: " + ", ".join(CODECS))
        parser.add_argument("--snap-ms", default="80", help="jitter gaps shorter than this are closed (10-500)")
        parser.add_argument("-o", "--output", required=True, help="WAV file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        code = run(
            options["input"],
            options["output"],
            options["codec"],
            snap_ms=options["snap_ms"],
            stdout=self.stdout,
            stderr=sys.stderr,
        )
        if code:
            sys.exit(code)
