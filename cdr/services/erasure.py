"""Erasure of one person's data from a tenant's call records, on request (``cdr_erase``, the admin).

What goes (``cdr.lifecycle.erase``): the remote address (``PERSONAL_CALL_FIELDS``) and the value
of every label (``labels_mask``: keys kept, values "erased") in the call record and in every
stored event payload of the call, and the call's recordings (their stored objects;
the metadata row stays, marked deleted, as retention leaves it). What stays: the Call-ID (the
gateway's dialog token and the record's key, see docs/records.md), the rollups' counts, and
everything else about the call (times, status, codes). A call under an active legal hold is
left untouched and reported. A Call-ID names the call and its agent legs (``erasure_calls``).

Stored events are masked and re-fingerprinted (the fingerprint of the masked content, which a
masked re-delivery also gets), and the HTTP edge's duplicate ledger forgets the old fingerprints
(they hashed the person's data). Events still waiting in the HTTP queue are masked there first
and stored at once (``cdr.services.erasure_queue``), so a call known only to the queue is erased
too. The call is marked ``erased_at``: ingestion masks any later event of it before storing it
(``cdr.services.tombstones``), so a re-delivered event is a duplicate of the masked copy and a
new one is stored masked. Idempotent: a second erasure finds nothing left to change.
Tenant-scoped: only calls of ``tenant_id`` (and their tenant-0 agent legs) are read or written.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cdr.conf import cdr_setting
from cdr.db.locks import calls_lock
from cdr.db.queries import one_of
from cdr.lifecycle.erase import MASK, PERSONAL_CALL_FIELDS, event_mask, labels_mask
from cdr.lifecycle.events import event_from_row, parse_event
from cdr.lifecycle.fields import Invalid
from cdr.lifecycle.labels import MAX_KEY, MAX_VALUE, label_filter_parse
from cdr.models import Call, CallEvent, CallFold, DeletionKind, EventStatus, GatewayEvent, RecordDeletion, Recording
from cdr.selectors.calls import tenant_legs
from cdr.selectors.erasure import ErasureSelector, erasure_calls
from cdr.services.erasure_queue import queue_erase
from cdr.services.recordings.retention import recording_objects_delete
from cdr.services.records_retention import call_held
from cdr.services.tenants import tenants_ensure
from cdr.storage.backend import recordings_storage

_CHUNK = 200


class ErasureInvalid(ValueError):
    """The request names no person, or one this installation cannot select by."""


def erasure_selector(*, call_id: str = "", remote_addr: str = "", label: str = "") -> ErasureSelector:
    """Exactly one of the three, validated."""
    given = [(k, v) for k, v in (("call_id", call_id), ("remote_addr", remote_addr), ("label", label)) if v]
    if len(given) != 1:
        raise ErasureInvalid("give exactly one of --call-id, --remote-addr, --label")
    kind, value = given[0]
    value = value.strip()
    longest = MAX_KEY + 1 + MAX_VALUE if kind == "label" else 255
    if not value or len(value) > longest:
        raise ErasureInvalid(f"{kind}: must be 1 to {longest} characters")
    if kind == "label":
        # The rules of every label filter (cdr.lifecycle.labels): a key as the wire takes it.
        try:
            (key, text), *_ = label_filter_parse([value], "label").items()
        except Invalid as exc:
            raise ErasureInvalid(str(exc)) from None
        if not text:
            raise ErasureInvalid(f"label: the value of {key} is empty: it names no one")
    return ErasureSelector(kind=kind, value=value)


def selector_hash(selector: ErasureSelector) -> str:
    """HMAC-SHA256 of the selector under CDR_ERASURE["HASH_KEY"]: what the audit row keeps."""
    key = str(cdr_setting("CDR_ERASURE")["HASH_KEY"]).encode()
    return hmac.new(key, f"{selector.kind}={selector.value}".encode(), hashlib.sha256).hexdigest()


@dataclass
class Erasure:
    tenant_id: int
    selector: ErasureSelector
    applied: bool
    call_ids: list[str] = field(default_factory=list)  # calls whose data is (or would be) erased
    held: list[str] = field(default_factory=list)  # matched, but under an active legal hold
    calls: int = 0  # call records changed
    events: int = 0  # event payloads masked, stored or queued
    queued: int = 0  # of those, events waiting in the HTTP queue
    recordings: int = 0  # recordings whose stored objects are deleted
    audit_id: int | None = None


def _recordings(tenant_id: int, pks: list[int], ids: list[str]) -> Any:
    return Recording.objects.filter(
        one_of("call_leg_id", pks) | (one_of("call_id", ids) & (Q(tenant_id=tenant_id) | Q(tenant_id=0))),
        deleted_at__isnull=True,
    )


def _calls_mask(pks: list[int], apply: bool, now: Any) -> int:
    """Mask the personal fields and the label values of these call records; how many changed (or would)."""
    groups: dict[str, list[int]] = {}  # the masked labels (as JSON) -> the calls that get them
    masked: dict[str, dict[str, Any]] = {}
    rows = Call.objects.filter(one_of("pk", pks)).values_list("pk", "labels", *PERSONAL_CALL_FIELDS)
    for pk, labels, *personal in rows:
        current = labels or {}
        new = labels_mask(current)
        if new is current and all(v == MASK for v in personal):
            continue
        key = json.dumps(new, sort_keys=True)
        masked[key] = new
        groups.setdefault(key, []).append(pk)
    if apply:
        for key, group in groups.items():
            Call.objects.filter(one_of("pk", group)).update(
                **dict.fromkeys(PERSONAL_CALL_FIELDS, MASK), labels=masked[key], updated_at=now
            )
    return sum(len(g) for g in groups.values())


def _new_fingerprint(status: str, payload: dict[str, Any], observed_at: Any) -> str:
    if status == EventStatus.ACCEPTED:
        return event_from_row(payload, observed_at).fingerprint
    return parse_event(payload, received_at=observed_at).fingerprint  # as a masked re-delivery is refused


def _events_mask(call_ids: list[str], apply: bool) -> int:
    """Mask the payloads of these calls' events; returns how many changed (or would)."""
    rows = CallEvent.objects.filter(one_of("call_id", call_ids)).values_list(
        "pk", "fingerprint", "scope", "status", "payload", "observed_at"
    )
    changes = []
    for pk, fp, scope, status, payload, observed_at in rows:
        masked = event_mask(payload)
        if masked is not payload:
            changes.append((pk, fp, scope, _new_fingerprint(status, masked, observed_at), masked))
    if not apply or not changes:
        return len(changes)
    # Two copies that differed only in the person's data are one after masking: keep one row.
    taken = set(
        CallEvent.objects.filter(one_of("fingerprint", {c[3] for c in changes})).values_list("fingerprint", "scope")
    )
    forgotten = set()
    for pk, old_fp, scope, new_fp, masked in changes:
        forgotten.add(old_fp)
        if (new_fp, scope) in taken and new_fp != old_fp:
            CallEvent.objects.filter(pk=pk).delete()
            continue
        taken.add((new_fp, scope))
        CallEvent.objects.filter(pk=pk).update(fingerprint=new_fp, payload=masked)
    # The HTTP edge's ledger of event ids keeps each event's fingerprint for a few days.
    GatewayEvent.objects.filter(one_of("fingerprint", forgotten)).delete()
    # The calls' folds hold the old labels and fingerprints: rebuilt from the masked log when next needed.
    CallFold.objects.filter(one_of("call_id", call_ids)).update(parts=CallFold.STALE)
    return len(changes)


def _erase_chunk(tenant_id: int, call_ids: list[str], apply: bool, storage: Any, out: Erasure) -> None:
    if apply:
        calls_lock(call_ids)
    calls = Call.objects.filter(one_of("call_id", call_ids)).filter(tenant_legs(tenant_id))
    held = set(calls.filter(call_held()).values_list("call_id", flat=True))
    out.held += sorted(held)
    rows = dict(calls.exclude(one_of("call_id", held)).values_list("call_id", "id"))
    if not rows:
        return
    ids, pks = sorted(rows), sorted(rows.values())
    out.call_ids += ids
    out.events += _events_mask(ids, apply)
    recordings = list(_recordings(tenant_id, pks, ids).values_list("pk", "storage_key", "wav_key"))
    out.recordings += len(recordings)
    now = timezone.now()
    out.calls += _calls_mask(pks, apply, now)
    if not apply:
        return
    Call.objects.filter(one_of("pk", pks), erased_at__isnull=True).update(erased_at=now, updated_at=now)
    if recordings:
        Recording.objects.filter(one_of("pk", [r[0] for r in recordings])).update(deleted_at=now)
        for _, key, wav_key in recordings:
            recording_objects_delete(storage=storage, storage_key=key, wav_key=wav_key)


def calls_erase(
    *, tenant_id: int, selector: ErasureSelector, apply: bool = False, actor: str = "", user: Any = None
) -> Erasure:
    """Erase (``apply``) or list (the default, a dry run) the person's data matched by ``selector``.

    Applied in chunks of calls, each in its own transaction under the calls' locks; the audit row
    (who, when, the selector's keyed hash, the counts) is written with the last chunk.
    """
    out = Erasure(tenant_id=tenant_id, selector=selector, applied=apply)
    known = set(erasure_calls(tenant_id=tenant_id, selector=selector))
    queue = queue_erase(tenant_id=tenant_id, selector=selector, known=known, apply=apply)
    out.events = out.queued = queue.events
    # Matched again: the queue's calls are stored now (their records masked: the selector may no
    # longer find them, so they are added by Call-ID; a dry run lists those already stored).
    matched = list(erasure_calls(tenant_id=tenant_id, selector=selector))
    matched += sorted(queue.call_ids - set(matched))
    storage = recordings_storage() if apply else None
    started = timezone.now()
    for i in range(0, max(len(matched), 1), _CHUNK):
        with transaction.atomic():
            if matched:
                _erase_chunk(tenant_id, matched[i : i + _CHUNK], apply, storage, out)
            if apply and i + _CHUNK >= len(matched):
                # The audit row names the tenant: one nothing was stored for yet (its events only
                # queued, or none) is created, as ingestion creates a TenantID it sees first.
                tenants_ensure(tenant_ids={tenant_id})
                out.audit_id = RecordDeletion.objects.create(
                    tenant_id=tenant_id,
                    kind=DeletionKind.ERASURE,
                    actor=(actor or "erasure")[:100],
                    user=user,
                    policy=f"erasure by {selector.kind}",
                    selector_hash=selector_hash(selector),
                    started_at=started,
                    finished_at=timezone.now(),
                    calls=out.calls,
                    events=out.events,
                    recordings=out.recordings,
                    held=len(out.held),
                ).pk
    return out
