"""Tenants and who may see them. Staff read their own tenants; superusers manage memberships."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.html import format_html

from cdr.admin.scoping import SuperuserOnlyAdmin, TenantScopedAdmin
from cdr.models import Tenant, TenantMembership
from cdr.models.zones import invalid_zone_message, time_zone_names, time_zone_valid


class MembershipInline(admin.TabularInline):
    model = TenantMembership
    extra = 0
    autocomplete_fields = ("user",)
    verbose_name = "staff member"
    verbose_name_plural = "staff members who may see this tenant's calls"


def _superuser(request: Any) -> bool:
    return request.user.is_active and request.user.is_superuser


class ZoneField(forms.ChoiceField):
    """A select of the IANA names whose check is the model's (``validate_time_zone``), so a name
    that is no zone gets the model's message, not "Select a valid choice"."""

    def valid_value(self, value: Any) -> bool:
        return True


class TenantForm(forms.ModelForm):
    time_zone = ZoneField(
        initial="UTC",
        help_text="The zone the tenant's times are shown in (IANA name, such as Europe/Paris).",
    )

    class Meta:
        model = Tenant
        fields = ("id", "name", "time_zone")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        choices = [(name, name) for name in time_zone_names()]
        stored = self.instance.time_zone if self.instance.pk is not None else ""
        if stored and not time_zone_valid(stored):
            # Kept selected (and refused on save) rather than replaced by the first zone of the list.
            choices.insert(0, (stored, f"{stored} (not a time zone: times shown in UTC)"))
        self.fields["time_zone"].choices = choices


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdmin):
    tenant_field = "id"
    form = TenantForm
    list_display = ("id", "name", "zone", "calls_link", "created_at")
    list_display_links = ("id", "name")
    search_fields = ("name",)
    fields = ("id", "name", "time_zone", "record_retention_days", "records_purged_before", "created_at")
    readonly_fields = ("created_at", "records_purged_before")

    def get_search_results(self, request: Any, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if term.isascii() and term.isdigit():  # an id; past 2**64-1 no tenant has it
            return (queryset.filter(id=int(term)) if len(term) <= 20 and int(term) < 2**64 else queryset.none()), False
        return super().get_search_results(request, queryset, search_term)

    def get_readonly_fields(self, request: Any, obj: Any = None) -> tuple[str, ...]:
        # The id is the gateway's TenantID: set when a tenant is created, never changed.
        return ("id", "created_at", "records_purged_before") if obj is not None else self.readonly_fields

    def get_inlines(self, request: Any, obj: Any) -> list[Any]:
        return [MembershipInline] if _superuser(request) else []

    # Tenants are created by the pipeline on first sight; a superuser may pre-create one (to
    # name it and set its zone) and edit it. Nobody deletes one: calls reference it.
    def has_add_permission(self, request: Any) -> bool:
        return _superuser(request)

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return _superuser(request)

    def change_view(self, request: Any, object_id: str, form_url: str = "", extra_context: Any = None) -> Any:
        if request.method == "GET":
            tenant = self.get_object(request, object_id)
            if tenant is not None and not time_zone_valid(tenant.time_zone):
                messages.error(request, invalid_zone_message(tenant))
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="Time zone")
    def zone(self, obj: Tenant) -> str:
        if time_zone_valid(obj.time_zone):
            return obj.time_zone
        return format_html('{} <strong class="cdr-bad-zone">(not a time zone: UTC)</strong>', obj.time_zone)

    @admin.display(description="Calls")
    def calls_link(self, obj: Tenant) -> str:
        return format_html('<a href="{}?tenant={}">calls</a>', reverse("admin:cdr_call_changelist"), obj.id)


@admin.register(TenantMembership)
class TenantMembershipAdmin(SuperuserOnlyAdmin):
    read_only = False
    list_display = ("user", "tenant", "created_at")
    list_select_related = ("user", "tenant")
    autocomplete_fields = ("user", "tenant")
    search_fields = ("user__username", "user__email")
