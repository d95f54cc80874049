"""Accept a gateway's batch: check each event, answer re-posts as duplicates, queue the rest.

Duplicates are decided by (gateway, event_id) rows inserted with one ``INSERT ... ON CONFLICT DO
NOTHING RETURNING`` in the transaction that queues the accepted events (``GatewayBatch``): if it
fails, the rows roll back with it and a re-post is accepted again. An event without ``event_id`` is keyed by its
content fingerprint. Whatever happens here, the store itself stays idempotent by content (per gateway).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from cdr.conf import cdr_setting
from cdr.db.queries import one_of
from cdr.lifecycle.events import Event, Rejected
from cdr.lifecycle.wire import wire_event_parse
from cdr.metrics import ingest_outcomes_count
from cdr.models import Call, Gateway, GatewayBatch, GatewayEvent
from cdr.services.gateway_batches import events_enqueue


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # accepted | duplicate | rejected
    reason: str = ""
    code: int = 200  # for a rejected event: 400 (invalid), 403 (tenant not allowed), 409 (event_id reused)
    # The reason's class for monitoring (cdr.metrics.REASONS): a few fixed words, never the reason itself.
    kind: str = ""


_STARTLESS = (
    "call.started_at: Go's zero time is taken as the call's start, but call {!r} is not stored and no"
    " other event of it in this batch gives one: send its StartedAt"
)
ACCEPTED = Outcome("accepted")
DUPLICATE = Outcome("duplicate")


@dataclass
class BatchResult:
    batch_id: str
    outcomes: list[Outcome] = field(default_factory=list)
    event_ids: list[str | None] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


@dataclass(slots=True)
class _Pending:
    index: int
    fingerprint: str
    event: Event


def _named_calls(event: Event) -> list[tuple[str, str]]:
    """(field, call id) of every call an event would write to or attach to."""
    call = event.call
    if call is None:
        return [("inbound_call_id", event.inbound_call_id), ("outbound_call_id", event.outbound_call_id)]
    return [("call.call_id", call.call_id), ("call.correlation_id", call.correlation_id)]


def _owners(events: list[Event]) -> dict[str, int]:
    """Tenants of the stored calls these events name (one query per batch)."""
    ids = {call_id for event in events for _, call_id in _named_calls(event) if call_id}
    return dict(Call.objects.filter(one_of("call_id", ids)).values_list("call_id", "tenant_id")) if ids else {}


def _tenant_refusal(event: Event, gateway: Gateway, allowed: frozenset[int], owners: dict[str, int]) -> Outcome | None:
    call = event.call
    # Tenant 0 is "not resolved yet" (agent legs inherit the inbound leg's tenant): every gateway sends it.
    if call is not None and call.tenant_id and call.tenant_id not in allowed:
        return Outcome(
            "rejected",
            f"call.tenant_id: gateway {gateway.name!r} may not report tenant {call.tenant_id}",
            403,
            "tenant",
        )
    # Nor may it write to, bridge or inherit from a call stored under another tenant.
    for name, call_id in _named_calls(event):
        owner = owners.get(call_id, 0)
        if owner and owner not in allowed:
            return Outcome(
                "rejected",
                f"{name}: {call_id[:80]!r} belongs to a tenant {gateway.name!r} may not report",
                403,
                "tenant",
            )
    return None


def _startless(checked: list[Event], owners: dict[str, int]) -> set[str]:
    """Calls of events sent with Go's zero StartedAt that no one can give a start: not stored
    (``owners`` holds the stored ones), no other event of this batch has one, and nothing is queued.

    The store takes such an event's start from the call's other events, in any order; the edge
    refuses it only when the call is surely unknown, so a gateway hears why instead of losing it.
    """
    wanted = {e.call.call_id for e in checked if e.call is not None and e.call.started_at is None}
    wanted -= owners.keys()
    wanted -= {e.call.call_id for e in checked if e.call is not None and e.call.started_at is not None}
    # The queue is read before the calls: a batch drained in between is then a committed call.
    if not wanted or GatewayBatch.objects.exists():
        return set()
    return wanted - set(Call.objects.filter(one_of("call_id", wanted)).values_list("call_id", flat=True))


def _remember(gateway: Gateway, pending: dict[str, _Pending], now: datetime) -> set[str]:
    """Insert the event ids in one statement; returns those that were new."""
    if not pending:
        return set()
    table = GatewayEvent._meta.db_table
    stamp = connection.ops.adapt_datetimefield_value(now)
    keys = list(pending)
    prints = [pending[k].fingerprint for k in keys]
    tail = "ON CONFLICT (gateway_id, event_id) DO NOTHING RETURNING event_id"
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # Two array parameters, not 4 x 1,000: binding a thousand-row VALUES list costs more
            # client time than the insert itself.
            cur.execute(
                f"INSERT INTO {table} (gateway_id, event_id, fingerprint, received_at) "
                f"SELECT %s, k, f, %s FROM unnest(%s::text[], %s::text[]) AS t(k, f) {tail}",
                [gateway.pk, stamp, keys, prints],
            )
        else:
            values = ", ".join(["(%s, %s, %s, %s)"] * len(keys))
            params: list[Any] = []
            for key, fp in zip(keys, prints, strict=True):
                params += [gateway.pk, key, fp, stamp]
            cur.execute(
                f"INSERT INTO {table} (gateway_id, event_id, fingerprint, received_at) VALUES {values} {tail}", params
            )
        return {row[0] for row in cur.fetchall()}


def gateway_events_accept(*, gateway: Gateway, events: list[Any]) -> BatchResult:
    """Check, deduplicate and queue one batch. Raises IngestUnavailable (nothing kept) if not durable."""
    received_at = timezone.now()
    allowed = frozenset(gateway.tenant_ids)
    result = BatchResult(batch_id="http-" + uuid.uuid4().hex)
    outcomes: list[Outcome | None] = [None] * len(events)
    pending: dict[str, _Pending] = {}
    repeats: list[tuple[int, str, str]] = []  # (index, key, fingerprint) of a key seen earlier in the batch
    checked = [wire_event_parse(raw, received_at=received_at) for raw in events]
    valid = [parsed for _, parsed in checked if isinstance(parsed, Event)]
    owners = _owners(valid)
    startless = _startless(valid, owners)
    for index, (raw, (_, parsed)) in enumerate(zip(events, checked, strict=True)):
        event_id = raw.get("event_id") if isinstance(raw, dict) else None
        result.event_ids.append(event_id if isinstance(event_id, str) else None)
        if isinstance(parsed, Rejected):
            outcomes[index] = Outcome("rejected", parsed.reason, 400, "invalid")
            continue
        refusal = _tenant_refusal(parsed, gateway, allowed, owners)
        if refusal is None and parsed.call is not None and parsed.call.call_id in startless:
            refusal = Outcome("rejected", _STARTLESS.format(parsed.call.call_id[:80]), 400, "startless")
        if refusal is not None:
            outcomes[index] = refusal
            continue
        key = event_id if isinstance(event_id, str) else "fp:" + parsed.fingerprint
        if key in pending:
            repeats.append((index, key, parsed.fingerprint))
        else:
            pending[key] = _Pending(index, parsed.fingerprint, parsed)
    with transaction.atomic():
        new = _remember(gateway, pending, received_at)
        seen = dict(
            GatewayEvent.objects.filter(
                one_of("event_id", [k for k in pending if k not in new]), gateway=gateway
            ).values_list("event_id", "fingerprint")
        )
        for key, item in pending.items():
            if key in new:
                outcomes[item.index] = ACCEPTED
            elif seen.get(key) == item.fingerprint:
                outcomes[item.index] = DUPLICATE
            else:
                outcomes[item.index] = Outcome(
                    "rejected", "event_id: already delivered with different content", 409, "conflict"
                )
        # Provenance for the store (tenant inheritance): always ours, never what the client sent
        # (wire_event_parse dropped it), set as parse_event sets it: outside the fingerprint.
        queued = [item for key, item in pending.items() if key in new]
        if queued:
            stored = events_enqueue(
                events=[replace(e.event, payload={**e.event.payload, "gateway_id": gateway.pk}) for e in queued],
                batch_id=result.batch_id,
                gateway_id=gateway.pk,
            )
            # Stored in this request (no broker): the answer is the store's verdict, which a
            # gateway that lost the race for a Call-ID (owners_bind, under the call's lock) gets
            # as "rejected" with the reason, not "accepted". Queued: settled when drained.
            for item, (status, reason) in zip(queued, stored.outcomes if stored else [], strict=bool(stored)):
                if status == "rejected":
                    outcomes[item.index] = Outcome("rejected", reason, 403)
    for index, key, fp in repeats:
        first = outcomes[pending[key].index]
        assert first is not None
        if fp != pending[key].fingerprint:
            outcomes[index] = Outcome(
                "rejected", "event_id: used twice in this batch for different content", 409, "conflict"
            )
        elif first.status == "rejected":
            outcomes[index] = first
        else:
            outcomes[index] = DUPLICATE
    result.outcomes = [o for o in outcomes if o is not None]
    # Counted once the answer is final: after the commit of whoever holds the transaction (nothing
    # on a rollback, when the gateway is told to post again).
    counted = [(o.status, o.kind) for o in result.outcomes]
    transaction.on_commit(lambda: ingest_outcomes_count(path="http", outcomes=counted))
    return result


def gateway_events_purge(*, older_than_days: int | None = None) -> int:
    """Forget delivered event ids older than the duplicate window (CDR_INGEST_EVENT_ID_DAYS)."""
    days = cdr_setting("CDR_INGEST")["EVENT_ID_DAYS"] if older_than_days is None else older_than_days
    deleted, _ = GatewayEvent.objects.filter(received_at__lt=timezone.now() - timedelta(days=days)).delete()
    return deleted
