"""Which tenants a user may see. Every admin list, detail, filter, search, autocomplete and
action asks these functions, so tenant scoping is decided in one place.

``tenant_ids_for`` returns ``None`` for "every tenant" (an active superuser) and a set of ids
otherwise (empty for anyone without a membership).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from cdr.models import Call, Recording, Tenant, TenantMembership

# Memberships are read once per request: the admin asks many times while rendering one page.
_CACHE_ATTR = "_cdr_tenant_ids"


def tenant_ids_for(user: Any) -> set[int] | None:
    """Tenant ids ``user`` may see; ``None`` means all of them (superuser)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return set()
    if user.is_superuser:
        return None
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = frozenset(TenantMembership.objects.filter(user=user).order_by().values_list("tenant_id", flat=True))
        setattr(user, _CACHE_ATTR, cached)
    return set(cached)


def tenant_ids_forget(user: Any) -> None:
    """Drop the per-request memo (after memberships changed within the same request)."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def tenants_visible_to(user: Any, qs: QuerySet[Tenant] | None = None) -> QuerySet[Tenant]:
    qs = Tenant.objects.all() if qs is None else qs
    ids = tenant_ids_for(user)
    return qs if ids is None else qs.filter(id__in=ids)


def calls_visible_to(user: Any, qs: QuerySet[Call] | None = None) -> QuerySet[Call]:
    qs = Call.objects.all() if qs is None else qs
    ids = tenant_ids_for(user)
    return qs if ids is None else qs.filter(tenant_id__in=ids)


def recordings_visible_to(user: Any, qs: QuerySet[Recording] | None = None) -> QuerySet[Recording]:
    """Recordings by their own tenant: one not resolved yet (tenant 0) only for superusers."""
    qs = Recording.objects.all() if qs is None else qs
    ids = tenant_ids_for(user)
    return qs if ids is None else qs.filter(tenant_id__in=ids)


def call_visible_to(user: Any, call_id: str) -> bool:
    """Whether the leg with this gateway Call-ID belongs to a tenant ``user`` may see."""
    return calls_visible_to(user).filter(call_id=call_id).exists()
