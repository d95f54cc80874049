"""Recompute call records (and their hangup and transfers) from the event log."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import fields, replace
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from cdr.db.bulk import bulk_upsert
from cdr.db.locks import calls_try_lock
from cdr.db.queries import one_of
from cdr.lifecycle.events import Event, event_from_row
from cdr.lifecycle.fold import CallRecord, HangupRecord
from cdr.lifecycle.state import (
    CallState,
    counting_scope,
    merge,
    merge_all,
    record_of,
    state_from_json,
    state_of,
    state_to_json,
    transfers_of,
)
from cdr.lifecycle.transfers import TRANSFER_AGENT, Leg, TransferRecord
from cdr.models import Call, CallEvent, CallFold, EventStatus, Hangup, Recording, Transfer
from cdr.services.provenance import GatewayTenants, recording_counts
from cdr.services.rollups import rollups_mark
from cdr.services.tenants import tenants_ensure

_CALL_FIELDS = [f.name for f in fields(CallRecord) if f.name not in ("call_id", "hangup")]
_HANGUP_FIELDS = [f.name for f in fields(HangupRecord)]
_TRANSFER_FIELDS = [f.name for f in fields(TransferRecord)]


def _events_by_call(call_ids: set[str], known: dict[tuple[str, int], Event] | None = None) -> dict[str, list[Event]]:
    """Accepted events of these calls; events of the batch at hand (by fingerprint and scope) are reused."""
    known = known or {}
    rows = CallEvent.objects.filter(one_of("call_id", call_ids), status=EventStatus.ACCEPTED).values_list(
        "pk", "call_id", "fingerprint", "scope", "observed_at", "content_at"
    )
    grouped: dict[str, list[Event]] = defaultdict(list)
    unknown: list[int] = []
    months: set[datetime] = set()
    for pk, call_id, fp, scope, observed_at, content_at in rows.iterator(chunk_size=5000):
        event = known.get((fp, scope))
        if event is None:
            unknown.append(pk)
            months.add(content_at)
        else:
            grouped[call_id].append(
                event if event.observed_at == observed_at else replace(event, observed_at=observed_at)
            )
    if unknown:
        # With their content_at: on PostgreSQL only the partitions holding them are read (the pk is
        # unique per partition there, and looked up in each partition the query may reach).
        payloads = CallEvent.objects.filter(one_of("pk", unknown), content_at__in=months).values_list(
            "call_id", "payload", "observed_at"
        )
        for call_id, payload, observed_at in payloads.iterator(chunk_size=2000):
            grouped[call_id].append(event_from_row(payload, observed_at))
    return grouped


Parts = dict[int, CallState]  # a call's fold by counting scope (cdr.lifecycle.state.counting_scope)


def _parts_of(call_id: str, events: Iterable[Event]) -> Parts:
    grouped: dict[int, list[Event]] = defaultdict(list)
    for e in events:
        grouped[counting_scope(e)].append(e)
    return {scope: state_of(call_id, evs) for scope, evs in grouped.items()}


def _whole(call_id: str, parts: Parts) -> CallState:
    if len(parts) == 1 and 0 in parts:
        return parts[0]
    return merge_all(call_id, parts.values())


def _stored(raw: dict[str, Any], call_id: str) -> Parts | None:
    parts: Parts = {}
    for scope, obj in raw.items():
        state = state_from_json(call_id, obj)
        if state is None:  # written by another version of the rules: rebuilt
            return None
        parts[int(scope)] = state
    return parts


def _folds(
    call_ids: set[str], new: Iterable[Event], known: dict[tuple[str, int], Event] | None, changed: set[str]
) -> dict[str, Parts]:
    """The folds of these calls: the stored ones merged with the batch's sightings ``new`` (events
    logged by it, or whose logged observation it may have moved earlier); a call without a row has
    no other event (see ``CallFold``); one whose row is stale is folded from the whole log, which
    holds the batch's events already. The calls whose fold is to be stored are added to ``changed``."""
    if not call_ids:
        return {}
    stored = dict(CallFold.objects.filter(one_of("call_id", call_ids)).values_list("call_id", "parts"))
    mine: dict[str, list[Event]] = defaultdict(list)
    for e in new:
        if e.call_id in call_ids:
            mine[e.call_id].append(e)
    out: dict[str, Parts] = {}
    rebuild = set()
    for call_id in call_ids:
        raw = stored.get(call_id)
        parts = {} if raw is None else _stored(raw, call_id)
        if parts is None:
            rebuild.add(call_id)
            continue
        if call_id in mine:
            changed.add(call_id)
            for scope, state in _parts_of(call_id, mine[call_id]).items():
                parts[scope] = merge(parts[scope], state) if scope in parts else state
        out[call_id] = parts
    if rebuild:
        events = _events_by_call(rebuild, known)
        for call_id in rebuild:
            out[call_id] = _parts_of(call_id, events.get(call_id, ()))
        changed |= rebuild
    return out


def _store_folds(folds: dict[str, Parts], call_ids: set[str]) -> None:
    # Only under the calls' locks: a fold written from an older snapshot would lose events for good.
    rows = [
        {"call_id": c, "parts": {str(scope): state_to_json(s) for scope, s in folds[c].items()}}
        for c in sorted(call_ids)
        if folds.get(c)
    ]
    bulk_upsert(CallFold, rows, conflict=["call_id"], update=["parts"])


def _derive(call_ids: set[str], folds: dict[str, Parts], gateways: GatewayTenants) -> list[CallRecord]:
    records = {}
    for call_id in call_ids:
        mine = folds.get(call_id, {})
        record = record_of(_whole(call_id, mine))
        # Events may precede the call they attach to (the edge could not refuse them then): those
        # of a gateway that may not report the call's tenant stay in the log but do not count.
        if record is not None and record.tenant_id:
            counted = gateways.counted(call_id, mine, record.tenant_id)
            if len(counted) < len(mine):
                mine = folds[call_id] = counted
                record = record_of(_whole(call_id, mine))
        if record is not None:
            records[call_id] = record
    # Agent legs often come with tenant 0: the tenant is the inbound leg's (via CorrelationID).
    orphans = {r.correlation_id for r in records.values() if r.tenant_id == 0 and r.correlation_id}
    if orphans:
        parents = {c: r.tenant_id for c, r in records.items() if c in orphans}
        parents.update(
            Call.objects.filter(one_of("call_id", orphans - parents.keys())).values_list("call_id", "tenant_id")
        )
        for call_id, r in list(records.items()):
            inherited = parents.get(r.correlation_id, 0) if r.tenant_id == 0 else 0
            if inherited and gateways.may_inherit(call_id, folds[call_id], inherited, r.correlation_id):
                records[call_id] = record_of(_whole(call_id, folds[call_id]), inherited)  # type: ignore[assignment]
    return list(records.values())


def _upsert_calls(records: list[CallRecord], warned: set[tuple[int, str]]) -> dict[str, int]:
    tenants_ensure(tenant_ids={r.tenant_id for r in records})
    now = timezone.now()
    rows = [{"call_id": r.call_id, **{f: getattr(r, f) for f in _CALL_FIELDS}, "updated_at": now} for r in records]
    rows.sort(key=lambda r: r["call_id"])  # the same row lock order in every transaction
    written = bulk_upsert(
        Call, rows, conflict=["call_id"], update=[*_CALL_FIELDS, "updated_at"], returning=["call_id", "id"]
    )
    ids = dict(written)
    # A recording may be stored before its call row exists: it is linked here, and the call marked
    # recorded, if it counts for the call's tenant (a gateway's only if it may report it). One
    # query as before when nothing waits (a recording stored after its call is linked at once).
    waiting = (
        Recording.objects.filter(one_of("call_id", ids.keys()), call_leg__isnull=True)
        .order_by()
        .values_list("pk", "call_id", "gateway_id", "gateway__name", "gateway__tenant_ids")
    )
    tenants = {r.call_id: r.tenant_id for r in records}
    linked: dict[str, list[int]] = defaultdict(list)
    for pk, call_id, gateway_id, name, tenant_ids in waiting:
        gateways = {} if gateway_id is None else {gateway_id: (name, frozenset(tenant_ids))}
        if recording_counts(gateways, gateway_id, call_id=call_id, tenant_id=tenants[call_id], warned=warned):
            linked[call_id].append(pk)
    for call_id, pks in linked.items():  # rare: recordings that came first
        Recording.objects.filter(one_of("pk", pks)).update(call_leg_id=ids[call_id])
        if tenants[call_id]:  # as recordings_attach_calls: a tenant 0 becomes the call's
            Recording.objects.filter(one_of("pk", pks), tenant_id=0).update(tenant_id=tenants[call_id])
    if linked:
        Call.objects.filter(one_of("pk", [ids[c] for c in linked]), has_recording=False).update(
            has_recording=True, updated_at=now
        )
    return ids


def _upsert_hangups(records: list[CallRecord], ids: dict[str, int]) -> None:
    rows = [
        {"call_id": ids[r.call_id], **{f: getattr(r.hangup, f) for f in _HANGUP_FIELDS}} for r in records if r.hangup
    ]
    rows.sort(key=lambda r: r["call_id"])
    bulk_upsert(
        Hangup,
        rows,
        conflict=["call_id"],
        update=["kind", "initiator", "sip_code", "reason", "reported_duration_ms", "ended_at"],
    )


def _refresh_transfers(inbound_ids: set[str], folds: dict[str, Parts], gateways: GatewayTenants) -> None:
    inbound_rows = {
        call_id: (pk, tenant_id)
        for call_id, pk, tenant_id in Call.objects.filter(one_of("call_id", inbound_ids)).values_list(
            "call_id", "id", "tenant_id"
        )
    }
    if not inbound_rows:
        return
    legs: dict[str, list[Leg]] = defaultdict(list)
    leg_pks: dict[str, int] = {}
    for call_id, pk, corr, started, status, established, tenant_id in Call.objects.filter(
        one_of("correlation_id", inbound_rows.keys()), scenario=TRANSFER_AGENT
    ).values_list("call_id", "id", "correlation_id", "started_at", "status", "established_at", "tenant_id"):
        if inbound_rows[corr][1] and tenant_id != inbound_rows[corr][1]:
            # Another tenant's leg naming this call (posted before it was stored), or one that refused
            # its parent's tenant (see _derive): not this call's agent leg.
            continue
        legs[corr].append(Leg(call_id, started, status, established is not None))
        leg_pks[call_id] = pk
    missing = inbound_rows.keys() - folds.keys()
    if missing:
        loaded = _folds(set(missing), (), None, set())
        gateways.load(loaded.values())
        folds.update(loaded)
    rows: list[dict[str, Any]] = []
    stale, untransferred = Q(), []
    for inbound_id, (pk, tenant_id) in inbound_rows.items():
        mine = folds.get(inbound_id, {})
        if tenant_id:
            mine = gateways.counted(inbound_id, mine, tenant_id)
        records = transfers_of(_whole(inbound_id, mine), legs.get(inbound_id, ()))
        rows += [
            {
                "inbound_id": pk,
                "outbound_id": leg_pks.get(t.outbound_call_id),
                **{f: getattr(t, f) for f in _TRANSFER_FIELDS},
            }
            for t in records
        ]
        stale |= Q(inbound_id=pk, attempt__gt=len(records))
        if not records:
            untransferred.append(pk)
    if rows:
        rows.sort(key=lambda r: (r["inbound_id"], r["attempt"]))  # the same lock order in every batch
        bulk_upsert(
            Transfer,
            rows,
            conflict=["inbound_id", "attempt"],
            update=[f for f in rows[0] if f not in ("inbound_id", "attempt")],
        )
    if stale:
        Transfer.objects.filter(stale).delete()
    if rows:
        Call.objects.filter(pk__in={r["inbound_id"] for r in rows}, transferred=False).update(
            transferred=True, updated_at=timezone.now()
        )
    if untransferred:
        # Only when events or legs that made it a transfer no longer count (see GatewayTenants).
        Call.objects.filter(pk__in=untransferred, transferred=True).update(transferred=False, updated_at=timezone.now())


def _lock_more(call_ids: set[str], locked: set[str]) -> None:
    more = call_ids - locked
    if more:
        calls_try_lock(more)
        locked |= more


def calls_refresh(
    *,
    call_ids: Iterable[str],
    transfer_ids: Iterable[str] = (),
    known: dict[tuple[str, int], Event] | None = None,
    repeats: Iterable[Event] = (),
    locked: set[str] | None = None,
) -> int:
    """Recompute the records of these calls (and the transfers of these inbound calls).

    Also refreshes legs waiting for a tenant from these calls, and the transfers of inbound
    calls whose agent legs changed. Call under the per-call locks of ``calls_lock``: ``locked``
    names the calls the caller holds; any other call it writes is locked with ``calls_try_lock``
    (never waiting) before it is read. Without ``locked`` the caller holds every lock needed.

    ``known`` are the events the batch added to the log and ``repeats`` its accepted events
    already logged (their copy may have moved the logged observation earlier): merged into the
    calls' stored folds (``CallFold``), which stand for the rest of the log.
    """
    call_ids = {c for c in call_ids if c}
    transfer_ids = {c for c in transfer_ids if c}
    if call_ids:
        call_ids |= set(
            Call.objects.filter(one_of("correlation_id", call_ids), tenant_id=0).values_list("call_id", flat=True)
        )
    if locked is not None:
        # A leg stored after the caller looked its legs up (between that query and its locks).
        _lock_more(call_ids | transfer_ids, locked)
    # The inbound legs of agent legs get their transfers derived below: their events are read with
    # the rest (one query, and the gateways of all of them are known in one more).
    parents = {
        e.call.correlation_id for e in (known or {}).values() if e.call and e.call.scenario == TRANSFER_AGENT
    } - {""}
    new = [*(known or {}).values(), *repeats]
    changed: set[str] = set()
    folds = _folds(call_ids | transfer_ids | parents, new, known, changed)
    # Stored whole (every scope), before _derive keeps only the scopes that count.
    _store_folds(folds, changed if locked is None else changed & locked)
    gateways = GatewayTenants()
    gateways.load(folds.values())
    records = _derive(call_ids, folds, gateways)
    transfer_ids |= gateways.refused_calls
    if records:
        # Parents of agent legs are locked by the caller (as named by the legs' events or stored
        # rows); only a parent changed by a batch committed since then can be new here.
        inbound_of_legs = {r.correlation_id for r in records if r.scenario == TRANSFER_AGENT and r.correlation_id}
        if locked is not None:
            _lock_more(inbound_of_legs, locked)
        ids = _upsert_calls(records, gateways.recordings_warned)
        _upsert_hangups(records, ids)
        # An end that no longer counts (see GatewayTenants.counted) leaves no hangup.
        ended = [ids[r.call_id] for r in records if r.hangup is None and r.call_id in gateways.refused_calls]
        if ended:
            Hangup.objects.filter(one_of("call_id", ended)).delete()
        transfer_ids |= inbound_of_legs
        # An inbound leg reported after its agent legs: its transfers can be linked only now.
        inbound = {r.call_id for r in records if r.direction == "inbound"} - transfer_ids
        if inbound:
            transfer_ids |= set(
                Call.objects.filter(one_of("correlation_id", inbound), scenario=TRANSFER_AGENT).values_list(
                    "correlation_id", flat=True
                )
            )
    if transfer_ids:
        _refresh_transfers(transfer_ids, folds, gateways)
    # Transfers count toward their inbound leg, so those legs' shares may change too.
    rollups_mark(call_ids={r.call_id for r in records} | transfer_ids)
    return len(records)
