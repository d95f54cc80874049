"""Read paths for recordings: storage lookup, tenant policy, who may see what, signed links."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core import signing
from django.db.models import Count, QuerySet

from cdr.conf import cdr_setting
from cdr.models import Call, Recording, RecordingPolicy, Tenant, WavStatus
from cdr.models.zones import zone_resolve
from cdr.selectors.access import tenant_ids_for
from cdr.storage.filenames import download_filename
from cdr.storage.spool import RecordingSpool

LINK_SALT = "cdr.recording-link"
_EXT_UNSAFE = re.compile(r"[^A-Za-z0-9]")


# --- policy -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Policy:
    enabled: bool = True
    retention_days: int | None = None


DEFAULT_POLICY = Policy()
_policy_lock = threading.Lock()
_policy_cache: dict[int, tuple[float, Policy]] = {}


def recording_policy_get(tenant_id: int, *, fresh: bool = False) -> Policy:
    """The tenant's policy, cached per process for POLICY_CACHE_SECONDS (begin_recording is hot)."""
    now = time.monotonic()
    if not fresh:
        with _policy_lock:
            hit = _policy_cache.get(tenant_id)
        if hit is not None and hit[0] > now:
            return hit[1]
    row = RecordingPolicy.objects.filter(tenant_id=tenant_id).values_list("enabled", "retention_days").first()
    policy = DEFAULT_POLICY if row is None else Policy(enabled=row[0], retention_days=row[1])
    with _policy_lock:
        _policy_cache[tenant_id] = (now + cdr_setting("CDR_RECORDINGS")["POLICY_CACHE_SECONDS"], policy)
    return policy


def recording_policies_forget() -> None:
    with _policy_lock:
        _policy_cache.clear()


# --- calls and recordings --------------------------------------------------------------------
def recording_call_context(
    *, call_id: str, tenant_id: int = 0, correlation_id: str = ""
) -> tuple[int, datetime | None]:
    """Best tenant and start time for a recording: the gateway's, else the call row's.

    Transfer agent legs often come with tenant 0; their tenant is the inbound leg's, found
    through the correlation id.
    """
    started_at = None
    row = Call.objects.filter(call_id=call_id).values_list("tenant_id", "started_at").first()
    if row is not None:
        tenant_id, started_at = tenant_id or row[0], row[1]
    if tenant_id == 0 and correlation_id:
        inbound = Call.objects.filter(call_id=correlation_id).values_list("tenant_id", flat=True).first()
        tenant_id = inbound or 0
    return tenant_id, started_at


def recording_find(*, call_id: str, sha256: str) -> Recording | None:
    return Recording.objects.filter(call_id=call_id, sha256=sha256).first()


def recordings_for_call(call_id: str) -> QuerySet[Recording]:
    return Recording.objects.filter(call_id=call_id).order_by("created_at", "id")


def recording_visible_to(user: Any, recording: Recording) -> bool:
    """THE permission check for recordings: active staff of the recording's tenant, or a superuser.

    Tenant scoping is ``cdr.selectors.access``'s (the same rule as the calls in the admin); a recording
    whose tenant is not resolved yet (0) is visible to superusers only.
    """
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if not (user.is_staff or user.is_superuser):
        return False
    ids = tenant_ids_for(user)
    return ids is None or recording.tenant_id in ids


def recording_get_visible(*, user: Any, recording_id: int) -> Recording | None:
    """The recording if ``user`` may see it, else None: an unknown id and another tenant's look the
    same (no id oracle), as the API's 404 for both."""
    if not 0 < recording_id < 2**63:  # beyond BIGINT: no such row, and no query that would fail
        return None
    recording = Recording.objects.filter(pk=recording_id).first()
    if recording is None or not recording_visible_to(user, recording):
        return None
    return recording


def recording_download_name(*, recording: Recording, key: str) -> str:
    """``<call-id>_<start in the tenant's zone>.<ext of key>``: the call's start, or when the
    recording came without a call row, when it was stored."""
    calls = Call.objects.filter(call_id=recording.call_id, tenant_id=recording.tenant_id)
    row = calls.values_list("started_at", "tenant__time_zone").first()
    if row is None:
        zone_name = Tenant.objects.filter(pk=recording.tenant_id).values_list("time_zone", flat=True).first()
        row = (recording.created_at, zone_name or "UTC")
    started = row[0].astimezone(zone_resolve(row[1])[0])
    ext = _EXT_UNSAFE.sub("", key.rsplit("/", 1)[-1].rpartition(".")[2])[:12] or "bin"
    return download_filename(call_id=recording.call_id, started=started, ext=ext)


# --- signed links for local files ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LinkClaims:
    recording_id: int
    key: str
    attachment: bool
    name: str  # the download's file name (cdr.storage.filenames)


def recording_link_sign(*, recording_id: int, key: str, attachment: bool, name: str) -> str:
    claims = {"r": recording_id, "k": key, "a": int(attachment), "n": name}
    return signing.dumps(claims, salt=LINK_SALT, compress=True)


def recording_link_verify(token: str) -> LinkClaims:
    """Raises signing.SignatureExpired (too old) or signing.BadSignature (tampered)."""
    data = signing.loads(token, salt=LINK_SALT, max_age=cdr_setting("CDR_RECORDINGS")["LINK_SECONDS"])
    key = str(data["k"])
    # A link signed before names were signed (minutes old at most): the key's last part.
    name = str(data.get("n") or key.rsplit("/", 1)[-1])
    return LinkClaims(recording_id=int(data["r"]), key=key, attachment=bool(data["a"]), name=name)


# --- monitoring ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TranscodeState:
    pending: int  # stored, WAV not made yet (queued, or the media worker is behind or down)
    failed: int  # the original could not be decoded: kept, no WAV


def recordings_transcode_state() -> TranscodeState:
    """Live recordings by WAV state (one query on the partial index of live recordings without a WAV)."""
    # The partial index cdr_recording_unready holds exactly these rows: the count reads no others.
    counts = dict(
        Recording.objects.filter(deleted_at__isnull=True)
        .exclude(wav_status=WavStatus.READY)
        .values_list("wav_status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return TranscodeState(pending=counts.get(WavStatus.PENDING, 0), failed=counts.get(WavStatus.FAILED, 0))


def recordings_spool_waiting() -> int:
    """Recordings in this host's spool (CDR_RECORDINGS SPOOL_DIR) not uploaded to storage yet."""
    return len(RecordingSpool(cdr_setting("CDR_RECORDINGS")["SPOOL_DIR"]).names())
