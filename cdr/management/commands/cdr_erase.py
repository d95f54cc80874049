"""manage.py cdr_erase --tenant T (--call-id ID | --remote-addr ADDR | --label k=v) [--apply]

A dry run by default: prints what would change. ``--apply`` erases and writes the audit row.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cdr.services.erasure import ErasureInvalid, calls_erase, erasure_selector

_SHOWN = 50


class Command(BaseCommand):
    help = "Erase one person's data (addresses, label values, event payloads, recordings) from a tenant's records."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)

        def error(message: str) -> NoReturn:
            # One line, as CommandError prints, not argparse's usage text (parsing runs before
            # BaseCommand catches CommandError, so it is written here).
            if parser.called_from_command_line:
                sys.stderr.write(f"CommandError: Error: {message}\n")
                sys.exit(2)
            raise CommandError(f"Error: {message}")

        parser.error = error  # type: ignore[method-assign]
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="tenant id (the gateway's TenantID); required")
        parser.add_argument("--call-id", default="", help="the call's Call-ID")
        parser.add_argument("--remote-addr", default="", help="remote address (host, every port)")
        parser.add_argument(
            "--label", default="", help="key=value: the calls carrying this label (exact key and value)"
        )
        parser.add_argument("--apply", action="store_true", help="erase (default: only print what would change)")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = options["tenant"]
        if tenant is None:
            raise CommandError("--tenant is required")
        if not (tenant.isascii() and tenant.isdigit()) or int(tenant) >= 2**64:
            raise CommandError(f"--tenant: expected an unsigned integer, got {tenant!r}")
        try:
            selector = erasure_selector(
                call_id=options["call_id"], remote_addr=options["remote_addr"], label=options["label"]
            )
        except ErasureInvalid as exc:
            raise CommandError(str(exc)) from None
        done = calls_erase(tenant_id=int(tenant), selector=selector, apply=options["apply"], actor="command cdr_erase")
        verb = "erased" if done.applied else "would erase"
        self.stdout.write(
            f"{verb} in tenant {done.tenant_id}: {len(done.call_ids)} calls matched, {done.calls} call records, "
            f"{done.events} event payloads, {done.recordings} recordings"
        )
        if done.queued:
            self.stdout.write(f"  of the event payloads, {done.queued} waiting in the HTTP queue")
        for call_id in done.call_ids[:_SHOWN]:
            self.stdout.write(f"  call {call_id}")
        if len(done.call_ids) > _SHOWN:
            self.stdout.write(f"  ... and {len(done.call_ids) - _SHOWN} more")
        if done.held:
            self.stdout.write(f"kept {len(done.held)} calls under legal hold: {', '.join(done.held[:_SHOWN])}")
        if done.applied:
            self.stdout.write(f"audit row {done.audit_id}")
        else:
            self.stdout.write("dry run: nothing changed; run again with --apply to erase")
