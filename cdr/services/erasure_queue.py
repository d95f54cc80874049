"""Erasure in the HTTP queue: events the edge accepted that no drain has stored yet (``GatewayBatch``).

A queued event holds the person's data at rest until it is drained, and a call whose events are
all still queued is not in the records the erasure matches: drained afterwards, it would be
stored with the person's data and without ``erased_at`` (nor would its later events be masked).
So, before the records are erased (``calls_erase``), every queued event of a call the request
names (by the selector itself, or a stored call it matched) is masked in its batch's body
(``event_mask``), the edge's ledger forgets the event's old fingerprint (it hashed the data), and
the batches touched are stored right away, in that transaction: their calls then exist, masked,
and are erased with the others. A batch set aside (``error``: a bug keeps it from being stored)
is masked where it waits. Drained batches are deleted when stored: no body is kept after that.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import Q

from cdr.db.queries import DATABASE_UNREACHABLE, one_of
from cdr.lifecycle.erase import call_named, event_mask
from cdr.lifecycle.handoff import wire_events_load
from cdr.lifecycle.wire import wire_event_parse
from cdr.models import Call, GatewayBatch, GatewayEvent, LegalHold
from cdr.selectors.erasure import ErasureSelector
from cdr.services.gateway_batches import gateway_batches_store

log = logging.getLogger("cdr.erasure")
# What the edge's ledger holds is the fingerprint of the event's content: when it was received
# does not enter it (a wire event must carry its observed_at).
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class QueueErasure:
    call_ids: set[str] = field(default_factory=set)  # calls the request names with events in the queue
    events: int = 0  # queued events masked (or that would be)
    stored: int = 0  # events of the masked batches stored at once


def _call(event: Any) -> dict[str, Any] | None:
    call = event.get("call") if isinstance(event, dict) else None
    return call if isinstance(call, dict) else None


def _queued() -> Any:
    # The whole queue, a batch at a time: read twice per erasure (it is short unless a backlog waits).
    return GatewayBatch.objects.order_by("id").values_list("id", "events").iterator(chunk_size=100)


def _load(doc: str) -> list[Any]:
    """A queued batch's events as wire events, whichever format it was queued in."""
    try:
        return wire_events_load(doc)
    except (ValueError, TypeError):  # a set-aside body no one can read: nothing in it can be named
        log.warning("erasure: an unreadable HTTP batch body was left as it is")
        return []


def _dump(events: list[Any]) -> str:
    # Written back as wire events (the handoff's format 1): the drain parses them, masked, once more.
    return json.dumps(events)


def _named(batches: Any, tenant_id: int, selector: ErasureSelector, known: set[str]) -> set[str]:
    """Call-IDs of queued events the request names: a stored call it matched, or the selector on
    the event's own ``call`` of ``tenant_id`` (or of tenant 0, for a Call-ID: the call's agent legs)."""
    tenants = {tenant_id, 0} if selector.kind == "call_id" else {tenant_id}
    named = set()
    for *_, doc in batches:
        for event in _load(doc):
            call = _call(event)
            if call is None or not isinstance(call.get("call_id"), str):
                continue
            if call["call_id"] in known or (
                call.get("tenant_id") in tenants and call_named(call, kind=selector.kind, value=selector.value)
            ):
                named.add(call["call_id"])
    if not named:
        return named
    # Tenant-scoped: a call (or, for a leg, its parent) stored under another tenant is not ours.
    others = Call.objects.filter(one_of("call_id", named | {selector.value})).exclude(tenant_id__in=[tenant_id, 0])
    foreign = set(others.values_list("call_id", flat=True))
    if selector.value in foreign and selector.kind == "call_id":
        return set()
    # A call under a legal hold is left untouched, queued events included (calls_erase reports it).
    held = LegalHold.objects.filter(one_of("call_id", named), released_at__isnull=True)
    return named - foreign - set(held.values_list("call_id", flat=True))


def _masked(doc: str, named: set[str]) -> tuple[list[Any], list[str], int]:
    """(the batch's events with the named calls' masked, the old fingerprints of those changed, how many)."""
    events, forgotten, changed = _load(doc), [], 0
    for i, event in enumerate(events):
        call = _call(event)
        if call is None or call.get("call_id") not in named:
            continue
        masked = event_mask(event)
        if masked is not event:
            forgotten.append(wire_event_parse(event, received_at=_EPOCH)[1].fingerprint)
            events[i] = masked
            changed += 1
    return events, forgotten, changed


def queue_erase(*, tenant_id: int, selector: ErasureSelector, known: set[str], apply: bool) -> QueueErasure:
    """Mask (``apply``) or count the queued events of the calls the request names, then store them."""
    out = QueueErasure()
    with transaction.atomic():
        out.call_ids = _named(_queued(), tenant_id, selector, known)
        if not out.call_ids:
            return out
        touched = []
        for pk, doc in _queued():
            changed = _masked(doc, out.call_ids)[2]
            if changed:
                touched.append(pk)
                out.events += changed
        if not apply or not touched:
            return out
        out.events = 0  # counted again under the locks
        # Under the rows' locks: a drain holding one stores it first (it is gone then, its events
        # are in the log and erased with their call below); a batch queued meanwhile is left alone.
        locked = GatewayBatch.objects.filter(one_of("pk", touched)).select_for_update().order_by("id")
        for pk, gateway_id, doc in locked.values_list("id", "gateway_id", "events"):
            events, forgotten, changed = _masked(doc, out.call_ids)
            if not changed:
                continue
            out.events += changed
            GatewayBatch.objects.filter(pk=pk).update(events=_dump(events))
            GatewayEvent.objects.filter(Q(gateway_id=gateway_id) & one_of("fingerprint", forgotten)).delete()
        try:
            with transaction.atomic():
                out.stored = gateway_batches_store(batch_ids=touched)
        except DATABASE_UNREACHABLE:
            raise
        except Exception as exc:  # left queued, masked: the drain sets it aside with its error
            log.error("erasure: masked HTTP batches not stored now: %s: %s", type(exc).__name__, exc)
    return out
