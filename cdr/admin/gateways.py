"""Ingestion gateways in the admin, for superusers: create (the secret is shown once) and revoke."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpResponse

from cdr.admin.scoping import SuperuserOnlyAdmin
from cdr.admin.secret_once import secret_once_response
from cdr.ingest.gateways import gateway_create, gateways_revoke, tenant_ids_clean
from cdr.models import Gateway


class GatewayForm(forms.ModelForm):
    tenant_ids = forms.CharField(
        help_text=(
            "Tenant ids this gateway may report, separated by commas. Tenant 0 (unresolved) is always allowed; "
            "such legs inherit only a tenant listed here."
        )
    )

    class Meta:
        model = Gateway
        fields = ("name",)

    def clean_tenant_ids(self) -> list[int]:
        parts = [p.strip() for p in self.cleaned_data["tenant_ids"].replace(" ", ",").split(",") if p.strip()]
        try:
            return tenant_ids_clean([int(p) for p in parts])
        except ValueError as exc:
            raise forms.ValidationError(f"expected unsigned 64-bit integers separated by commas ({exc})") from None


@admin.register(Gateway)
class GatewayAdmin(SuperuserOnlyAdmin):
    read_only = False  # superusers add (the secret is shown once) and revoke; nobody edits a secret
    form = GatewayForm
    list_display = ("name", "key_id", "tenant_ids", "active", "created_at", "last_seen_at", "revoked_at")
    list_filter = ("active",)
    search_fields = ("name", "key_id")
    actions = ("revoke",)

    def get_readonly_fields(self, request: Any, obj: Any = None) -> tuple[str, ...]:
        return ("name", "key_id", "tenant_ids", "active", "created_at", "last_seen_at", "revoked_at") if obj else ()

    def get_fields(self, request: Any, obj: Any = None) -> tuple[str, ...]:
        return self.get_readonly_fields(request, obj) if obj else ("name", "tenant_ids")

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        # Revoke instead: the row says which gateway delivered each stored event (provenance), and
        # a deleted gateway's tenant-0 legs would lose the tenant they inherited.
        return False

    def save_model(self, request: Any, obj: Gateway, form: Any, change: bool) -> None:
        issued = gateway_create(name=obj.name, tenant_ids=form.cleaned_data["tenant_ids"])
        # The admin goes on with ``obj`` (log entry, redirect): make it the row just created.
        for name in ("pk", "key_id", "secret_encrypted", "tenant_ids", "created_at"):
            setattr(obj, name, getattr(issued.gateway, name))
        request._cdr_issued_secret = issued.secret

    def response_add(self, request: Any, obj: Gateway, post_url_continue: str | None = None) -> HttpResponse:
        return secret_once_response(
            self,
            request,
            title="Gateway created",
            subject=f"Gateway {obj.name}: key id {obj.key_id}",
            secret=request._cdr_issued_secret,
            usage="the HMAC-SHA256 key of X-CDR-Signature (README, HTTP ingestion)",
        )

    @admin.action(description="Revoke selected gateways", permissions=["view"])
    def revoke(self, request: Any, queryset: QuerySet[Gateway]) -> None:
        count = gateways_revoke(gateway_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Revoked {count} gateway(s).", messages.SUCCESS)
