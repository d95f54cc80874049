"""Read paths of the API, always starting from what the user may see (``cdr.access``)."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from cdr.access import calls_visible_to
from cdr.api.filters import calls_apply_filters
from cdr.models import Call, CallEvent, Transfer


def calls_api_list(*, user: Any, params: Any) -> QuerySet[Call]:
    """The user's calls filtered by query parameters (400 on a bad one); unordered: the caller orders."""
    return calls_apply_filters(calls_visible_to(user), params)


def call_api_get(*, user: Any, call_id: str) -> tuple[Call, list[CallEvent]]:
    """One visible call with hangup and transfers, and its event log; 404 for anyone else's."""
    transfers = Prefetch("transfers", queryset=Transfer.objects.order_by("attempt"))
    call = calls_visible_to(user).select_related("hangup").prefetch_related(transfers).filter(call_id=call_id).first()
    if call is None:
        raise Http404("No such call.")
    events = list(CallEvent.objects.filter(call_id=call_id).order_by("observed_at", "id"))
    return call, events
