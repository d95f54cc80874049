"""python manage.py cdr_export --format ndjson|csv [--tenant ID] [--since T] [--until T] [--label K=V ...]"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cdr.lifecycle.fields import Invalid
from cdr.lifecycle.labels import label_filter_parse
from cdr.reports.columns import csv_header, record_csv_line, record_ndjson_line
from cdr.selectors import call_records_iter, calls_filter


def parse_when(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--{name}: not an RFC 3339 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        raise CommandError(f"--{name}: give a UTC offset (e.g. {value}Z): {value!r}")
    try:
        # In UTC, as every database gets it: 9999-12-31T23:59:59-14:00 is past the year 9999.
        return parsed.astimezone(UTC)
    except OverflowError:
        raise CommandError(f"--{name}: out of range (years 0001..9999 in UTC): {value!r}") from None


class Command(BaseCommand):
    help = "Stream call records to stdout as NDJSON or CSV, oldest first, in constant memory."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["ndjson", "csv"], default="ndjson")
        parser.add_argument("--tenant", help="tenant id (the gateway's TenantID)")
        parser.add_argument("--since", help="start time lower bound, inclusive (RFC 3339)")
        parser.add_argument("--until", help="start time upper bound, exclusive (RFC 3339)")
        parser.add_argument(
            "--label",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="only calls with this label (exact key and value); repeat to require several",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = options["tenant"]
        if tenant is not None and (not (tenant.isascii() and tenant.isdigit()) or int(tenant) >= 2**64):
            raise CommandError(f"--tenant: expected an unsigned integer, got {tenant!r}")
        try:
            labels = label_filter_parse(options["label"])
        except Invalid as exc:
            raise CommandError(f"--{exc}") from None
        qs = calls_filter(
            labels=labels,
            tenant_id=int(tenant) if tenant is not None else None,
            since=parse_when(options["since"], "since") if options["since"] else None,
            until=parse_when(options["until"], "until") if options["until"] else None,
        )
        out = self.stdout._out  # the raw stream: OutputWrapper would add a newline per write
        try:
            self._write(out, qs, options["format"])
        except BrokenPipeError:  # `cdr_export | head`: the reader left, not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())

    def _write(self, out: Any, qs: Any, fmt: str) -> None:
        # The columns of every export (cdr.reports.columns): the API's and the admin's too.
        if fmt == "csv":
            out.write(csv_header())
            for record in call_records_iter(qs):
                out.write(record_csv_line(record))
        else:
            for record in call_records_iter(qs):
                out.write(record_ndjson_line(record))
