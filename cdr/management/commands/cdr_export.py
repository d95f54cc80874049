"""python manage.py cdr_export --format ndjson|csv [--tenant ID] [--since T] [--until T] [--<filter> V ...]

The filters are the API's (``cdr.selectors.call_filters``), one option each: ``--ended-after``,
``--min-duration-ms``, ``--sip-class 4xx``, ``--remote-addr 203.0.113.`` ...; ``--since`` and
``--until`` are ``--started-after`` and ``--started-before``; ``--label KEY=VALUE`` repeats (AND).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cdr.management.progress import Progress, is_terminal
from cdr.reports.columns import csv_header, record_csv_line, record_ndjson_line
from cdr.selectors import call_records_iter
from cdr.selectors.call_filters import CALL_FILTERS, FilterErrors, call_filters_parse, calls_filtered
from cdr.selectors.times import EXAMPLES

# The options named as before the API's filter names reached the command.
_ALIASES = {"started_after": "--since", "started_before": "--until"}


def _option(name: str) -> str:
    return _ALIASES.get(name, "--" + name.replace("_", "-"))


class Command(BaseCommand):
    help = "Stream call records to stdout as NDJSON or CSV, oldest first, in constant memory."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["ndjson", "csv"], default="ndjson")
        filters = parser.add_argument_group(
            "filters",
            f"As the API's. Times: {EXAMPLES}; without an offset, in the --tenant's time zone (else UTC).",
        )
        for spec in CALL_FILTERS:
            names = [_option(spec.name)]
            if spec.name in _ALIASES:
                names.append("--" + spec.name.replace("_", "-"))
            text = spec.description + (f" One of {', '.join(spec.choices)}." if spec.choices else "")
            if spec.many:
                filters.add_argument(
                    *names, dest=spec.name, action="append", metavar="KEY=VALUE", help=text.replace("%", "%%")
                )
            else:
                filters.add_argument(*names, dest=spec.name, metavar="V", help=text.replace("%", "%%"))

    def handle(self, *args: Any, **options: Any) -> None:
        raw = {spec.name: options[spec.name] for spec in CALL_FILTERS if options.get(spec.name) is not None}
        try:
            values = call_filters_parse(raw, tenant_ids=None)
        except FilterErrors as exc:
            name, reason = next(iter(exc.errors.items()))
            raise CommandError(f"{_option(name)}: {reason}") from None
        qs = calls_filtered(values)
        out = self.stdout._out  # the raw stream: OutputWrapper would add a newline per write
        try:
            # A bar on a terminal's stderr (its count is one query more); nothing on a pipe or a log.
            total = qs.count() if is_terminal(self.stderr) else None
            with Progress(self.stderr, total=total, unit="calls", verbosity=options["verbosity"]) as progress:
                self._write(out, qs, options["format"], progress)
        except BrokenPipeError:  # `cdr_export | head`: the reader left, not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())

    def _write(self, out: Any, qs: Any, fmt: str, progress: Progress) -> None:
        # The columns of every export (cdr.reports.columns): the API's and the admin's too.
        line = record_csv_line if fmt == "csv" else record_ndjson_line
        if fmt == "csv":
            out.write(csv_header())
        n = 0
        for n, record in enumerate(call_records_iter(qs), 1):
            out.write(line(record))
            if n % 2000 == 0:
                progress.advance_to(n)
        progress.advance_to(n)
