"""python manage.py cdr_gateway create NAME --tenant ID [--tenant ID ...] | revoke KEY_ID_OR_NAME"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError

from cdr.ingest.gateways import gateway_create, gateway_revoke


class Command(BaseCommand):
    help = "Create an ingestion gateway (its secret is printed once) or revoke one."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a gateway; prints the key id and the secret once")
        create.add_argument("name")
        create.add_argument(
            "--tenant", type=int, action="append", default=[], help="a tenant id it may report (repeatable)"
        )
        revoke = sub.add_parser("revoke", help="revoke a gateway by key id or name")
        revoke.add_argument("gateway")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "create":
            try:
                issued = gateway_create(name=options["name"], tenant_ids=options["tenant"])
            except ValueError as exc:
                raise CommandError(f"--tenant: {exc}") from None
            except IntegrityError:
                raise CommandError(f"name: a gateway {options['name']!r} exists already") from None
            self.stderr.write(f"Gateway {options['name']}: store the secret now, it is not shown again.")
            self.stdout.write(f"key_id={issued.gateway.key_id}\nsecret={issued.secret}")
        else:
            if not gateway_revoke(key_id_or_name=options["gateway"]):
                raise CommandError(f"no active gateway {options['gateway']!r}")
            self.stdout.write(f"revoked {options['gateway']}")
