"""The fold as a join-semilattice: a call's state, merged with only its new events. Pure.

``derive_call`` (``cdr.lifecycle.fold``) stays the reference: for any set of events of a call,
split into any chunks in any order, with repeats, ``record_of(merge(state_of(chunk) ...))`` is
``derive_call`` of the whole (tests/unit/lifecycle/test_state.py proves it on random multisets).

Every rule of the fold is a minimum by a total key, or a union, so ``merge`` is commutative,
associative and idempotent:

* the start, the first ringing and establishment: minima of times;
* each ``first(attr)`` (and the tenant): the first non-empty value in the fold's order
  ``(observed_at, fingerprint)``: the minimum of ``(observed_at, fingerprint, value)``; a repeat
  observed later never wins, one observed earlier does, as in the log's LEAST upsert;
* the deciding end: the minimum ``(ended_at, fingerprint, ...)`` of the real ends, and apart the
  minimum of the sweeper's expiries (which decide only when no real end exists);
* the labels: a repeat counts at its *first* sighting, and the newest first sighting wins a key.
  That is a maximum of minima, which does not merge from one winner per key: the state keeps each
  labelled event's first sighting (fingerprint -> earliest observation, labels), a minimum per
  fingerprint. It grows with the distinct labelled events of the call, not with their copies;
* transfers: the set of attempts (moment, target, call) and each bridge's earliest moment.

What is *not* in the state: the tenant a call is bound to (``cdr.services.owners``, decided by
commit order: a refused event is logged as rejected and never reaches the fold), the tenant a leg
inherits from its parent (an argument of ``record_of``), and which gateways' events count
(``cdr.services.provenance.GatewayTenants.counted``: it depends on the call's tenant and on the
gateways' current ``tenant_ids``, so it can drop an event already merged). For that, keep one
state per ``counting_scope`` and merge the scopes that count when the record is wanted: the join
distributes over the scopes, so no state has to be rebuilt when the verdict changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from cdr.hooks import CallMeta
from cdr.lifecycle.events import END_TYPES, Event, call_to_json, fingerprint
from cdr.lifecycle.fold import CallRecord, HangupRecord
from cdr.lifecycle.labels import labels_merge
from cdr.lifecycle.transfers import Leg, TransferRecord, transfers_pair

_MS = timedelta(milliseconds=1)
FIRST_FIELDS = ("correlation_id", "direction", "scenario", "remote_addr", "local_ip", "codec")
_STATUS = {"bye": "completed", "failed": "failed", "expired": "expired"}

# (observed_at, fingerprint, value): the first non-empty value in the fold's order.
First = tuple[datetime, str, Any]
# (ended_at, fingerprint, kind, initiator, sip_code, reason, reported duration ms): the earliest end.
End = tuple[datetime, str, str, str, int, str, int]
_T = TypeVar("_T")


def _least(a: _T | None, b: _T | None) -> _T | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if a <= b else b  # type: ignore[operator]


def _least_by_key(a: Mapping[Any, Any], b: Mapping[Any, Any]) -> dict[Any, Any]:
    if not b:
        return dict(a)
    out = dict(a)
    for key, value in b.items():
        held = out.get(key)
        if held is None or value < held:
            out[key] = value
    return out


@dataclass(frozen=True, slots=True)
class CallState:
    """What the fold needs of the events of ``call_id``. Build with ``state_of``, join with ``merge``."""

    call_id: str
    started_at: datetime | None = None
    tenant: First | None = None
    firsts: tuple[First | None, ...] = (None,) * len(FIRST_FIELDS)
    ringing_at: datetime | None = None
    established_at: datetime | None = None
    real_end: End | None = None
    expiry: End | None = None
    # fingerprint -> (first sighting, sorted label items): see the module's docstring.
    labelled: Mapping[str, tuple[datetime, tuple[tuple[str, str], ...]]] = field(default_factory=dict)
    # transfer attempts: (moment, target, the call's digest); a repeat posted with labels added is
    # the same one.
    attempts: frozenset[tuple[datetime, str, str]] = frozenset()
    bridges: Mapping[str, datetime] = field(default_factory=dict)  # outbound Call-ID -> first moment
    types: frozenset[str] = frozenset()  # the kinds of events held (for the refusal's log line)


def _meta_key(meta: CallMeta | None) -> str:
    # derive_transfers tells attempts apart by their CallMeta (labels aside): a stable digest of it.
    return "" if meta is None else fingerprint(call_to_json(meta))


def state_of(call_id: str, events: Iterable[Event]) -> CallState:
    """The state of ``call_id`` from some of its events (others are ignored); one pass, no sort."""
    started_at = ringing_at = established_at = None
    tenant: First | None = None
    firsts: list[First | None] = [None] * len(FIRST_FIELDS)
    real_end = expiry = None
    labelled: dict[str, tuple[datetime, tuple[tuple[str, str], ...]]] = {}
    attempts: set[tuple[datetime, str, str]] = set()
    bridges: dict[str, datetime] = {}
    types: set[str] = set()
    for e in events:
        if e.call_id != call_id:
            continue
        types.add(e.type)
        at, fp, kind, meta = e.observed_at, e.fingerprint, e.type, e.call
        if meta is not None and meta.call_id == call_id:
            if meta.started_at is not None and (started_at is None or meta.started_at < started_at):
                started_at = meta.started_at
            if meta.tenant_id:
                tenant = _least(tenant, (at, fp, meta.tenant_id))
            for i, attr in enumerate(FIRST_FIELDS):
                if value := getattr(meta, attr):
                    firsts[i] = _least(firsts[i], (at, fp, str(value)))
        if e.labels:
            held = labelled.get(fp)
            if held is None or at < held[0]:
                labelled[fp] = (at, tuple(sorted(e.labels.items())))
        if kind == "ringing":
            ringing_at = at if ringing_at is None else min(ringing_at, at)
        elif kind == "established":
            established_at = at if established_at is None else min(established_at, at)
        elif kind in END_TYPES:
            h = e.hangup
            assert h is not None
            end: End = (h.ended_at or at, fp, kind, str(h.initiator), h.sip_code, h.reason, h.duration // _MS)
            if kind == "expired":
                expiry = _least(expiry, end)
            else:
                real_end = _least(real_end, end)
        elif kind == "transfer_started":
            attempts.add((at, e.target_uri, _meta_key(meta)))
        elif kind == "bridge_started":
            held_at = bridges.get(e.outbound_call_id)
            if held_at is None or at < held_at:
                bridges[e.outbound_call_id] = at
    return CallState(
        call_id=call_id,
        started_at=started_at,
        tenant=tenant,
        firsts=tuple(firsts),
        ringing_at=ringing_at,
        established_at=established_at,
        real_end=real_end,
        expiry=expiry,
        labelled=labelled,
        attempts=frozenset(attempts),
        bridges=bridges,
        types=frozenset(types),
    )


def merge(a: CallState, b: CallState) -> CallState:
    """The join: the state of the union of the two event sets. Commutative, associative, idempotent."""
    if a.call_id != b.call_id:
        raise ValueError(f"merge: states of two calls ({a.call_id!r}, {b.call_id!r})")
    return CallState(
        call_id=a.call_id,
        started_at=_least(a.started_at, b.started_at),
        tenant=_least(a.tenant, b.tenant),
        firsts=tuple(_least(x, y) for x, y in zip(a.firsts, b.firsts, strict=True)),
        ringing_at=_least(a.ringing_at, b.ringing_at),
        established_at=_least(a.established_at, b.established_at),
        real_end=_least(a.real_end, b.real_end),
        expiry=_least(a.expiry, b.expiry),
        labelled=_least_by_key(a.labelled, b.labelled),
        attempts=a.attempts | b.attempts,
        bridges=_least_by_key(a.bridges, b.bridges),
        types=a.types | b.types,
    )


def merge_all(call_id: str, states: Iterable[CallState]) -> CallState:
    out = CallState(call_id=call_id)
    for s in states:
        out = merge(out, s)
    return out


def _ms(later: datetime | None, earlier: datetime | None) -> int | None:
    if later is None or earlier is None:
        return None
    return max(0, (later - earlier) // _MS)


def record_of(state: CallState, inherited_tenant: int = 0) -> CallRecord | None:
    """``derive_call(state.call_id, events, inherited_tenant)`` of the events the state holds."""
    started_at = state.started_at
    if started_at is None:
        return None
    first = {attr: (f[2] if f else "") for attr, f in zip(FIRST_FIELDS, state.firsts, strict=True)}
    ringing_at, established_at = state.ringing_at, state.established_at
    if ringing_at is not None and ringing_at < started_at:
        ringing_at = started_at
    if established_at is not None and established_at < started_at:
        established_at = started_at
    end = state.real_end or state.expiry
    hangup = ended_at = None
    if end is not None:
        ended_at, _, kind, initiator, sip_code, reason, reported = end
        if established_at is not None and established_at > ended_at:
            established_at = ended_at
        hangup = HangupRecord(
            kind=kind,
            initiator=initiator,
            sip_code=sip_code or None,
            reason=reason,
            reported_duration_ms=reported or None,
            ended_at=ended_at,
        )
        status = _STATUS[kind]
    else:
        status = "established" if established_at is not None else "ringing"
    return CallRecord(
        call_id=state.call_id,
        correlation_id=first["correlation_id"],
        tenant_id=(state.tenant[2] if state.tenant else 0) or inherited_tenant,
        direction=first["direction"],
        scenario=first["scenario"],
        status=status,
        remote_addr=first["remote_addr"],
        local_ip=first["local_ip"],
        codec=first["codec"],
        started_at=started_at,
        ringing_at=ringing_at,
        established_at=established_at,
        ended_at=ended_at,
        duration_ms=_ms(ended_at, started_at),
        billable_ms=_ms(ended_at, established_at) if established_at else (0 if ended_at else None),
        pdd_ms=_ms(ringing_at, started_at),
        hangup_initiator=hangup.initiator if hangup else "",
        sip_code=hangup.sip_code if hangup else None,
        hangup_reason=hangup.reason if hangup else "",
        hangup=hangup,
        labels=labels_merge((at, dict(items)) for at, items in state.labelled.values()),
    )


def transfers_of(state: CallState, legs: Iterable[Leg]) -> list[TransferRecord]:
    """``derive_transfers(events, legs)`` of the events the state holds."""
    return transfers_pair(sorted((at, target) for at, target, _ in state.attempts), state.bridges, legs)


def counting_scope(e: Event) -> int:
    """The part of a call's state an event belongs to: 0 for events that always count (no
    gateway, or naming a tenant: checked at the edge, bound by ``owners_bind``); else the gateway
    that delivered it, whose events count only while it may report the call's tenant."""
    gateway_id = e.payload.get("gateway_id")
    if gateway_id is None or (e.call is not None and e.call.tenant_id):
        return 0
    return int(gateway_id)


STATE_VERSION = 1  # bump when the rules or this encoding change: stored states are then rebuilt


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _first(obj: list[Any] | None) -> Any:
    return None if obj is None else (datetime.fromisoformat(obj[0]), *obj[1:])


def state_to_json(state: CallState) -> dict[str, Any]:
    """The state for a JSON column (``state_from_json`` reads it back). Its datetimes are left to
    the encoder (orjson, or ``default=isoformat``): that is most of the cost of writing it."""
    return {
        "v": STATE_VERSION,
        "start": state.started_at,
        "tenant": state.tenant,
        "firsts": state.firsts,
        "ringing": state.ringing_at,
        "established": state.established_at,
        "end": state.real_end,
        "expiry": state.expiry,
        "labels": state.labelled,
        "attempts": sorted(state.attempts),
        "bridges": state.bridges,
        "types": sorted(state.types),
    }


def state_from_json(call_id: str, obj: Mapping[str, Any]) -> CallState | None:
    """The state ``state_to_json`` wrote; None if it was written by another ``STATE_VERSION``."""
    if obj.get("v") != STATE_VERSION:
        return None
    return CallState(
        call_id=call_id,
        started_at=_dt(obj["start"]),
        tenant=_first(obj["tenant"]),
        firsts=tuple(_first(f) for f in obj["firsts"]),
        ringing_at=_dt(obj["ringing"]),
        established_at=_dt(obj["established"]),
        real_end=_first(obj["end"]),
        expiry=_first(obj["expiry"]),
        labelled={
            fp: (datetime.fromisoformat(at), tuple(map(tuple, items))) for fp, (at, items) in obj["labels"].items()
        },
        attempts=frozenset((datetime.fromisoformat(at), target, key) for at, target, key in obj["attempts"]),
        bridges={out: datetime.fromisoformat(at) for out, at in obj["bridges"].items()},
        types=frozenset(obj["types"]),
    )
