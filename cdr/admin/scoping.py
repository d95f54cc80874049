"""Tenant scoping for every admin of the cdr app.

A staff user sees the rows of the tenants they are a member of (``cdr.selectors.access``); a superuser
sees everything. Scoping is applied in ``get_queryset``, which Django's admin uses for the
change list, search, actions, the change/history/delete views (``get_object``) and the
autocomplete endpoint, so one override covers them all. Calls are records of what happened:
nobody adds or edits them by hand.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet

from cdr.admin.changelist import BoundedPaginator, CheckedChangeList
from cdr.selectors.access import tenant_ids_for


def search_term_unmatchable(term: str) -> bool:
    """A term no stored text equals or contains: PostgreSQL text holds no NUL (asking would fail)."""
    return "\x00" in term


class CheckedInputAdmin(admin.ModelAdmin):
    """Query strings a database cannot be asked give an empty or refused list, never an error."""

    def get_changelist(self, request: Any, **kwargs: Any) -> type[CheckedChangeList]:
        return CheckedChangeList

    def get_search_results(self, request: Any, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        # The autocomplete view searches too, outside the change list's check.
        if search_term_unmatchable(search_term):
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)


class TenantScopedAdmin(CheckedInputAdmin):
    """``tenant_field``: the lookup from this model to its tenant id (``tenant_id``, ``id``)."""

    tenant_field = "tenant_id"
    # Facet counts are a COUNT per filter choice: never on big tables.
    show_facets = admin.ShowFacets.NEVER
    show_full_result_count = False
    paginator = BoundedPaginator

    def get_queryset(self, request: Any) -> QuerySet:
        qs = super().get_queryset(request)
        ids = tenant_ids_for(request.user)
        if ids is None:
            return qs
        return qs.filter(**{f"{self.tenant_field}__in": ids}) if ids else qs.none()

    def _member(self, request: Any) -> bool:
        ids = tenant_ids_for(request.user)
        return request.user.is_staff and (ids is None or bool(ids))

    # Membership of a tenant is what grants reading its data; model permissions still work too.
    def has_module_permission(self, request: Any) -> bool:
        return self._member(request) or super().has_module_permission(request)

    def has_view_permission(self, request: Any, obj: Any = None) -> bool:
        return self._member(request) or super().has_view_permission(request, obj)

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class SuperuserOnlyAdmin(CheckedInputAdmin):
    """Data that cannot be attributed to a tenant safely: only superusers reach it."""

    read_only = True
    show_facets = admin.ShowFacets.NEVER
    show_full_result_count = False
    paginator = BoundedPaginator

    def get_queryset(self, request: Any) -> QuerySet:
        qs = super().get_queryset(request)
        return qs if request.user.is_active and request.user.is_superuser else qs.none()

    def has_module_permission(self, request: Any) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: Any, obj: Any = None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request: Any) -> bool:
        return not self.read_only and self.has_view_permission(request)

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return not self.read_only and self.has_view_permission(request)

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return not self.read_only and self.has_view_permission(request)
