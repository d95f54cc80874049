"""``manage.py cdr_decode INPUT --codec pcmu|pcma|g722|opus [--snap-ms N] -o OUT.wav``.

A thin wrapper: all logic (and its tests) lives in :mod:`cdr.media.cli`, which also serves
``python -m cdr.media decode``. The command uses neither the database nor the app registry, so it
runs no system checks and manage.py runs it without setting Django up (see manage.py).
"""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from cdr.media import cli


class Command(BaseCommand):
    help = cli.DESCRIPTION
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        cli.add_arguments(parser)
        # Accepted as before, when the command ran the system checks (it has none to skip now).
        parser.add_argument("--skip-checks", action="store_true", help="Skip system checks.")

    def handle(self, *args: Any, **options: Any) -> None:
        code = cli.run(
            options["input"],
            options["output"],
            options["codec"],
            snap_ms=options["snap_ms"],
            stdout=self.stdout,
            stderr=sys.stderr,
        )
        if code:
            sys.exit(code)
