"""Ingestion gateways in the admin, for superusers: create (the secret is shown once) and revoke;
and the queue of accepted HTTP events waiting for a worker."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils.html import format_html
from django.utils.timesince import timesince

from cdr.admin.scoping import SuperuserOnlyAdmin
from cdr.admin.secret_once import secret_once_response
from cdr.models import Gateway, GatewayBatch
from cdr.selectors.gateway_batches import gateway_batches_state
from cdr.services.gateway_batches import events_show, gateway_batches_retry
from cdr.services.gateways import gateway_create, gateways_revoke, tenant_ids_clean


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
            usage="the HMAC-SHA256 key of X-CDR-Signature (docs/ingest.md)",
        )

    @admin.action(description="Revoke selected gateways", permissions=["view"])
    def revoke(self, request: Any, queryset: QuerySet[Gateway]) -> None:
        count = gateways_revoke(gateway_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Revoked {count} gateway(s).", messages.SUCCESS)


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "es" if noun.endswith("ch") else "s")


class _QueueStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [("queued", "Queued"), ("set_aside", "Set aside")]

    def queryset(self, request: Any, queryset: QuerySet[GatewayBatch]) -> QuerySet[GatewayBatch]:
        if self.value() == "queued":
            return queryset.filter(error="")
        if self.value() == "set_aside":
            return queryset.exclude(error="")
        return queryset


@admin.register(GatewayBatch)
class GatewayBatchAdmin(SuperuserOnlyAdmin):
    """Accepted HTTP events no worker has stored yet, and batches set aside because storing failed.

    Superusers only (the events are raw payloads of any tenant). Nothing is added, edited or
    deleted here: a set-aside batch is queued again with the retry action once its cause is fixed.
    """

    list_display = ("id", "batch_id", "gateway", "event_count", "received_at", "state", "error_summary")
    list_select_related = ("gateway",)
    list_filter = (_QueueStateFilter, "gateway")
    search_fields = ("batch_id",)
    ordering = ("id",)
    actions = ("retry",)
    fields = ("batch_id", "gateway", "event_count", "received_at", "state", "error", "events_pretty")
    readonly_fields = fields

    @admin.display(description="state")
    def state(self, obj: GatewayBatch) -> str:
        return "Set aside" if obj.error else "Queued"

    @admin.display(description="error")
    def error_summary(self, obj: GatewayBatch) -> str:
        return obj.error if len(obj.error) <= 120 else obj.error[:119] + "…"

    @admin.display(description="events")
    def events_pretty(self, obj: GatewayBatch) -> str:
        try:
            text = json.dumps(events_show(obj.events), indent=2, sort_keys=True)
        except ValueError:  # what the error is about, as stored
            text = obj.events
        return format_html('<pre class="cdr-batch-events">{}</pre>', text)

    def changelist_view(self, request: Any, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        state = gateway_batches_state()
        waiting = f"{_n(state.queued_events, 'event')} in {_n(state.queued_batches, 'batch')} waiting for a worker"
        if state.oldest_received_at is not None:
            waiting += f" (oldest received {timesince(state.oldest_received_at)} ago)"
        aside = f"{_n(state.set_aside_batches, 'batch')} ({_n(state.set_aside_events, 'event')}) set aside"
        subtitle = f"{waiting}; {aside}"
        return super().changelist_view(request, {"subtitle": subtitle, **(extra_context or {})})

    @admin.action(description="Queue selected set-aside batches again", permissions=["view"])
    def retry(self, request: Any, queryset: QuerySet[GatewayBatch]) -> None:
        count = gateway_batches_retry(batch_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Queued {count} set-aside batch(es) again.", messages.SUCCESS)
