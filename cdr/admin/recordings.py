"""Recordings on the call pages: a player and download links, through the recordings helper's
link view (``cdr:recording-link``), which checks access and logs every link it hands out, and
a waveform image (``cdr:recording-waveform``, same access check, not logged: it is no audio)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.urls import reverse

from cdr.admin.display import duration, local_time
from cdr.models import Recording, RecordingAccess, WavStatus
from cdr.selectors.access import tenant_ids_for

ACCESS_LOG_ROWS = 20


def recordings_by_call(user: Any, call_ids: Iterable[str]) -> dict[str, list[Recording]]:
    """Live recordings of these calls that ``user`` may see, in one query."""
    ids = tenant_ids_for(user)
    qs = Recording.objects.filter(call_id__in=list(call_ids), deleted_at__isnull=True)
    if ids is not None:
        qs = qs.filter(tenant_id__in=ids)
    grouped: dict[str, list[Recording]] = defaultdict(list)
    for recording in qs.order_by("created_at", "id"):
        grouped[recording.call_id].append(recording)
    return grouped


def recording_urls(recording: Recording) -> dict[str, str]:
    base = reverse("cdr:recording-link", args=[recording.pk])
    urls = {"download_original": f"{base}?purpose=download&variant=original"}
    if recording.wav_status == WavStatus.READY:
        # preload="none" on the player: the link (and its audit row) is made only on play.
        urls["play"] = f"{base}?purpose=playback"
        urls["download"] = f"{base}?purpose=download"
        urls["waveform"] = reverse("cdr:recording-waveform", args=[recording.pk])
    return urls


def recordings_detail(user: Any, call_id: str, zone_name: str) -> list[dict[str, Any]]:
    """Every recording of the call, purged ones included (their metadata stays), with who fetched it."""
    ids = tenant_ids_for(user)
    qs = Recording.objects.filter(call_id=call_id).order_by("created_at", "id")
    if ids is not None:
        qs = qs.filter(tenant_id__in=ids)
    out = []
    for recording in qs:
        accesses = RecordingAccess.objects.filter(recording=recording).select_related("user")
        out.append(
            {
                "recording": recording,
                "urls": recording_urls(recording) if recording.deleted_at is None else {},
                "created": local_time(recording.created_at, zone_name),
                "duration": duration(recording.duration_ms),
                "accesses": [
                    {"at": local_time(a.at, zone_name), "user": a.user, "purpose": a.purpose, "variant": a.variant}
                    for a in accesses[:ACCESS_LOG_ROWS]
                ],
            }
        )
    return out
