"""python manage.py cdr_gateway create NAME --tenant ID [--tenant ID ...] | revoke KEY_ID_OR_NAME
| queue | retry (--all | ID [ID ...])"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError

from cdr.selectors.gateway_batches import gateway_batches_state
from cdr.services.gateway_batches import gateway_batches_retry
from cdr.services.gateways import gateway_create, gateway_revoke


class Command(BaseCommand):
    help = (
        "Create an ingestion gateway (its secret is printed once) or revoke one; show the queue of accepted "
        "HTTP events, or queue set-aside batches again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a gateway; prints the key id and the secret once")
        create.add_argument("name")
        create.add_argument(
            "--tenant", type=int, action="append", default=[], help="a tenant id it may report (repeatable)"
        )
        revoke = sub.add_parser("revoke", help="revoke a gateway by key id or name")
        revoke.add_argument("gateway")
        sub.add_parser("queue", help="accepted HTTP events waiting for a worker, and batches set aside")
        retry = sub.add_parser("retry", help="queue set-aside batches again, once the cause is fixed")
        which = retry.add_mutually_exclusive_group(required=True)
        which.add_argument("ids", nargs="*", type=int, default=[], metavar="ID", help="batch ids (as logged)")
        which.add_argument("--all", action="store_true", help="every set-aside batch")

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
        elif options["action"] == "queue":
            state = gateway_batches_state()
            oldest = state.oldest_received_at.isoformat() if state.oldest_received_at else "-"
            self.stdout.write(
                f"queued_batches={state.queued_batches}\nqueued_events={state.queued_events}\n"
                f"oldest_received_at={oldest}\n"
                f"set_aside_batches={state.set_aside_batches}\nset_aside_events={state.set_aside_events}"
            )
        elif options["action"] == "retry":
            count = gateway_batches_retry(batch_ids=None if options["all"] else options["ids"])
            if not count and not options["all"]:
                raise CommandError("none of these ids is a set-aside batch")
            self.stdout.write(f"queued {count} set-aside batch(es) again")
        else:
            if not gateway_revoke(key_id_or_name=options["gateway"]):
                raise CommandError(f"no active gateway {options['gateway']!r}")
            self.stdout.write(f"revoked {options['gateway']}")
