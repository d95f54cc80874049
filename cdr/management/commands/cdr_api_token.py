"""python manage.py cdr_api_token create --user NAME [--name N] | revoke PREFIX"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from cdr.services.api_tokens import api_token_create, api_token_revoke


class Command(BaseCommand):
    help = "Create a REST API token for a user (the key is printed once) or revoke one by its prefix."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token; prints the key once")
        create.add_argument("--user", required=True, help="username the token acts as")
        create.add_argument("--name", default="", help="what the token is for")
        revoke = sub.add_parser("revoke", help="revoke the token(s) with this key prefix")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "create":
            User = get_user_model()
            try:
                user = User.objects.get(**{User.USERNAME_FIELD: options["user"]})
            except User.DoesNotExist:
                raise CommandError(f"--user: no user {options['user']!r}") from None
            issued = api_token_create(user=user, name=options["name"])
            self.stderr.write(f"Token {issued.token.prefix} for {user}: store the key now, it is not shown again.")
            self.stdout.write(issued.key)
        else:
            if not api_token_revoke(prefix=options["prefix"]):
                raise CommandError(f"no live token with prefix {options['prefix']!r}")
            self.stdout.write(f"revoked {options['prefix']}")
