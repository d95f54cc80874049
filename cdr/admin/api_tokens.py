"""API tokens in the admin, for superusers: create (the key is shown once) and revoke."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpResponse

from cdr.admin.scoping import SuperuserOnlyAdmin
from cdr.admin.secret_once import secret_once_response
from cdr.models import ApiToken
from cdr.services.api_tokens import api_token_create, api_tokens_revoke


@admin.register(ApiToken)
class ApiTokenAdmin(SuperuserOnlyAdmin):
    read_only = False  # superusers add (the key is shown once) and revoke; nobody edits a token
    list_display = ("prefix", "name", "user", "created_at", "last_used_at", "revoked_at")
    list_select_related = ("user",)
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("prefix", "name", "user__username")
    autocomplete_fields = ("user",)
    fields = ("user", "name")
    actions = ("revoke",)

    def get_readonly_fields(self, request: Any, obj: Any = None) -> tuple[str, ...]:
        return ("user", "name", "prefix", "created_at", "last_used_at", "revoked_at") if obj else ()

    def get_fields(self, request: Any, obj: Any = None) -> tuple[str, ...]:
        return self.get_readonly_fields(request, obj) if obj else self.fields

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def save_model(self, request: Any, obj: ApiToken, form: Any, change: bool) -> None:
        issued = api_token_create(user=obj.user, name=obj.name)
        # The admin goes on with ``obj`` (log entry, redirect): make it the row just created.
        obj.pk, obj.prefix, obj.key_hash = issued.token.pk, issued.token.prefix, issued.token.key_hash
        obj.created_at = issued.token.created_at
        request._cdr_issued_key = issued.key

    def response_add(self, request: Any, obj: ApiToken, post_url_continue: str | None = None) -> HttpResponse:
        return secret_once_response(
            self,
            request,
            title="API key created",
            subject=f"Token {obj.prefix} for {obj.user}",
            secret=request._cdr_issued_key,
            usage="Authorization: Bearer <key>",
        )

    @admin.action(description="Revoke selected tokens", permissions=["view"])
    def revoke(self, request: Any, queryset: QuerySet[ApiToken]) -> None:
        count = api_tokens_revoke(token_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)
