"""Calls ringing or established right now, per tenant (reads the partial index cdr_call_active)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from cdr.admin.display import duration, local_time
from cdr.models import ACTIVE_STATUSES
from cdr.selectors.access import calls_visible_to

# A page, not a report: a gateway has at most a few thousand concurrent legs.
ACTIVE_LIMIT = 2000


def active_calls_view(model_admin: Any) -> Callable[[HttpRequest], HttpResponse]:
    def view(request: HttpRequest) -> HttpResponse:
        if not model_admin.has_view_permission(request):
            raise PermissionDenied
        now = timezone.now()
        # The status list must match the index predicate for the planner to use cdr_call_active.
        rows = list(
            calls_visible_to(request.user)
            .filter(status__in=[str(s) for s in ACTIVE_STATUSES])
            .select_related("tenant")
            .order_by("started_at", "id")[: ACTIVE_LIMIT + 1]
        )
        truncated = len(rows) > ACTIVE_LIMIT
        groups: dict[int, dict[str, Any]] = defaultdict(lambda: {"calls": [], "ringing": 0, "established": 0})
        for call in rows[:ACTIVE_LIMIT]:
            group = groups[call.tenant_id]
            group["tenant"] = call.tenant
            group[call.status] += 1
            group["calls"].append(
                {
                    "call": call,
                    "started": local_time(call.started_at, call.tenant.time_zone),
                    "age": duration(int((now - call.started_at).total_seconds() * 1000)),
                }
            )
        context = {
            **model_admin.admin_site.each_context(request),
            "title": "Active calls",
            "opts": model_admin.model._meta,
            "groups": sorted(groups.values(), key=lambda g: g["tenant"].id),
            "total": min(len(rows), ACTIVE_LIMIT),
            "truncated": truncated,
            "limit": ACTIVE_LIMIT,
            "now": now,
        }
        return TemplateResponse(request, "admin/cdr/call/active.html", context)

    return view
