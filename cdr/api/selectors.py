"""Read paths of the API, always starting from what the user may see (``cdr.selectors.access``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from rest_framework.exceptions import ValidationError

from cdr.models import Call, CallEvent, Recording, Transfer, WavStatus
from cdr.selectors.access import calls_visible_to, recordings_visible_to, tenant_ids_for
from cdr.selectors.call_filters import (
    CALL_FILTER_NAMES,
    REPEATABLE,
    FilterErrors,
    call_filters_parse,
    call_filters_tenant,
    calls_filtered,
)
from cdr.selectors.calls import call_events_visible


def calls_api_list(*, user: Any, params: Any) -> tuple[QuerySet[Call], int | None]:
    """The user's calls filtered by query parameters (400 naming a bad one; unordered: the caller
    orders), and the one tenant they are limited to, if they are (it leads the keyset)."""
    tenant_ids = tenant_ids_for(user)
    raw = {
        name: params.getlist(name) if name in REPEATABLE else params[name]
        for name in CALL_FILTER_NAMES
        if name in params
    }
    try:
        values = call_filters_parse(raw, tenant_ids=tenant_ids)
    except FilterErrors as exc:
        raise ValidationError(exc.errors) from None
    qs = calls_filtered(values, qs=calls_visible_to(user))
    return qs, call_filters_tenant(values, tenant_ids=tenant_ids)


def call_api_get(*, user: Any, call_id: str) -> tuple[Call, list[CallEvent], list[Recording]]:
    """One visible call with hangup and transfers, its event log and recordings; 404 for anyone else's."""
    if "\x00" in call_id:  # PostgreSQL text cannot hold NUL: no such call
        raise Http404("No such call.")
    transfers = Prefetch("transfers", queryset=Transfer.objects.order_by("attempt"))
    call = calls_visible_to(user).select_related("hangup").prefetch_related(transfers).filter(call_id=call_id).first()
    if call is None:
        raise Http404("No such call.")
    events = call_events_visible(call=call, tenant_ids=tenant_ids_for(user))
    recordings = []
    if call.has_recording:
        # Those linked to the call: a gateway's recording is linked only if it may report the
        # call's tenant (cdr.services.provenance), another's stays off the call.
        recordings = list(Recording.objects.filter(call_leg_id=call.pk).order_by("created_at", "id"))
    return call, events, recordings


SUMMARY_COLUMNS = ("format", "duration_ms", "deleted_at", "wav_status")


def recording_summary(rows: Iterable[Any]) -> dict[str, Any]:
    """Count, playable count, total duration, formats and ready WAVs of one call's recordings.

    ``rows`` are (format, duration_ms, deleted_at, wav_status) tuples.
    """
    count = available = wav_ready = duration = 0
    formats: set[str] = set()
    for fmt, duration_ms, deleted_at, wav_status in rows:
        count += 1
        formats.add(fmt)
        duration += duration_ms or 0
        if deleted_at is None:
            available += 1
            wav_ready += wav_status == WavStatus.READY
    return {
        "count": count,
        "available": available,
        "wav_ready": wav_ready,
        "duration_ms": duration,
        "formats": sorted(formats),
    }


def recording_summaries(*, calls: Iterable[Call]) -> dict[str, dict[str, Any]]:
    """Summaries for a page of calls: one query, and none when no call on it was recorded."""
    call_ids = {c.pk: c.call_id for c in calls if c.has_recording}
    if not call_ids:
        return {}
    rows: dict[str, list[Any]] = defaultdict(list)
    # As call_api_get: the recordings linked to the call.
    for call_pk, *rest in Recording.objects.filter(call_leg_id__in=call_ids).values_list(
        "call_leg_id", *SUMMARY_COLUMNS
    ):
        rows[call_ids[call_pk]].append(rest)
    return {call_id: recording_summary(items) for call_id, items in rows.items()}


def recording_api_get(*, user: Any, recording_id: int) -> Recording:
    """A recording of one of the user's tenants; 404 for unknown ids and anyone else's."""
    if not 0 < recording_id < 2**63:  # beyond BIGINT: no such row, and no query that would fail
        raise Http404("No such recording.")
    recording = recordings_visible_to(user).filter(pk=recording_id).first()
    if recording is None:
        raise Http404("No such recording.")
    return recording
