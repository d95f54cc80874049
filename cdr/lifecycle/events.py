"""The lifecycle event: validation of the JSON shape and its content fingerprint.

One validation path for every source (in-process sink, HTTP ingestion, sweeper), so an event
means the same thing whoever delivered it. Invalid events are not dropped: they come back as
``Rejected`` with a reason, and the store keeps them in the event log.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec
import orjson

from cdr.hooks import CallMeta, Direction, HangupInitiator, HangupMeta
from cdr.lifecycle.fields import (
    GO_ZERO_TIME,
    Invalid,
    _utc,
    has_unstorable,
    integer,
    is_zero_time,
    parse_time,
    storable,
    storable_copy,
    sub_object,
    text,
)
from cdr.lifecycle.labels import labels_parse

EVENT_TYPES = frozenset({"ringing", "established", "transfer_started", "bridge_started", "bye", "failed", "expired"})
META_TYPES = frozenset({"ringing", "established", "transfer_started", "bye", "failed"})
END_TYPES = frozenset({"bye", "failed", "expired"})
_U64 = 1 << 64
# Canonical JSON of an event's content, hashed into its fingerprint. One encoder, built once, with
# exactly json.dumps(sort_keys=True, separators=(",", ":"), default=repr)'s settings: the bytes (and
# so every stored fingerprint) are the same; only the per-call construction is saved.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=repr)
_DIRECTIONS = {str(d): d for d in Direction}
_INITIATORS = {str(i): i for i in HangupInitiator}
_MS = timedelta(milliseconds=1)
EXPIRY_REASON = "no end event before the timeout"
# ``content_at`` of an event whose content names no time (bridge_started, expired, most refused
# input): its own range on PostgreSQL (docs/operations.md, "Partitioning").
CONTENT_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The one spelling of a time content_at takes (what isoformat() writes): the SQL twin of
# content_time (cdr.db.partitions.CONTENT_AT_SQL) uses the same pattern, so both agree on every row.
ISO_TIME_PATTERN = (
    r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(\.[0-9]{1,6})?([+-](0[0-9]|1[0-4]):[0-5][0-9]|Z)"
)
_ISO_TIME = re.compile(ISO_TIME_PATTERN)


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    call_id: str
    fingerprint: str
    observed_at: datetime
    payload: dict[str, Any]  # normalised, JSON-safe; what the log stores
    call: CallMeta | None = None
    hangup: HangupMeta | None = None
    content_at: datetime = CONTENT_EPOCH  # content_time(content): the log's partition key
    target_uri: str = ""
    inbound_call_id: str = ""
    outbound_call_id: str = ""
    # ``call.labels`` (cdr.lifecycle.labels): not part of CallMeta, which mirrors the Go hooks.
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rejected:
    type: str
    call_id: str
    fingerprint: str
    observed_at: datetime
    reason: str
    payload: dict[str, Any] = field(default_factory=dict)
    content_at: datetime = CONTENT_EPOCH


def fingerprint(content: Any) -> str:
    data = _CANONICAL.encode(content)
    return hashlib.blake2b(data.encode(), digest_size=16).hexdigest()


def content_fingerprint(content: dict[str, Any]) -> str:
    """``fingerprint`` of a validated event's content (strings, ints, None, nested objects), faster.

    orjson writes the same bytes as the canonical encoder for such content whenever its output is
    printable ASCII; otherwise (non-ASCII text, DEL) the stdlib encoder's ``\\uXXXX`` escapes are used.
    """
    data = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    if not data.isascii() or b"\x7f" in data:
        data = _CANONICAL.encode(content).encode()
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _iso_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not _ISO_TIME.fullmatch(value) or not 1971 <= int(value[:4]) <= 9998:
        return None
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except ValueError:  # a day the month has not
        return None


def content_time(content: Any) -> datetime:
    """The time an event's fingerprinted content names: its call's start, else its hangup's end.

    A function of the content alone (not of when or by whom it was seen), so every copy of one
    content, accepted or refused, gets the same value: the event log is partitioned by it on
    PostgreSQL, and unique (fingerprint, scope, content_at) is then unique (fingerprint, scope).
    ``CONTENT_EPOCH`` when the content names none (bridge_started, expired, a zero start).
    """
    if not isinstance(content, dict):
        return CONTENT_EPOCH
    kind = content.get("type")
    if not isinstance(kind, str):
        return CONTENT_EPOCH
    call, hangup = content.get("call"), content.get("hangup")
    if kind in META_TYPES and isinstance(call, dict) and (at := _iso_time(call.get("started_at"))):
        return at
    if kind in ("bye", "failed") and isinstance(hangup, dict) and (at := _iso_time(hangup.get("ended_at"))):
        return at
    return CONTENT_EPOCH


def parse_call(obj: dict[str, Any]) -> CallMeta:
    """``started_at`` None: Go's zero time, "not known here" (e.g. a BYE built without the call's
    StartedAt). Valid: the call's start is taken from its other events (``cdr.lifecycle.fold``),
    and the HTTP edge refuses it for a call it cannot find. Absent, null or "" stays an error."""
    raw_start = obj.get("started_at")
    started_at = None if is_zero_time(raw_start) else parse_time(raw_start, "call.started_at", required=True)
    direction = text(obj, "direction", "call.direction", 32)
    if direction not in (Direction.INBOUND, Direction.OUTBOUND):
        raise Invalid(f"call.direction: unknown value {direction!r} (inbound|outbound)")
    return CallMeta(
        call_id=text(obj, "call_id", "call.call_id", 255, required=True),
        correlation_id=text(obj, "correlation_id", "call.correlation_id", 255),
        direction=_DIRECTIONS[direction],
        scenario=text(obj, "scenario", "call.scenario", 64),
        tenant_id=integer(obj, "tenant_id", "call.tenant_id", 0, _U64 - 1),
        remote_addr=text(obj, "remote_addr", "call.remote_addr", 255),
        local_ip=text(obj, "local_ip", "call.local_ip", 64),
        codec=text(obj, "codec", "call.codec", 32).lower(),
        started_at=started_at,
    )


def parse_hangup(obj: dict[str, Any]) -> HangupMeta:
    initiator = text(obj, "initiator", "hangup.initiator", 32) or HangupInitiator.UNKNOWN
    if initiator not in (HangupInitiator.LOCAL, HangupInitiator.REMOTE, HangupInitiator.UNKNOWN):
        raise Invalid(f"hangup.initiator: unknown value {initiator!r} (local|remote|unknown)")
    sip_code = integer(obj, "sip_code", "hangup.sip_code", 0, 699)
    if 0 < sip_code < 100:
        raise Invalid(f"hangup.sip_code: {sip_code} is not a SIP status (100..699, or 0)")
    duration_ms = integer(obj, "duration_ms", "hangup.duration_ms", 0, 10**12)
    return HangupMeta(
        initiator=_INITIATORS[initiator],
        sip_code=sip_code,
        reason=text(obj, "reason", "hangup.reason", 255),
        duration=duration_ms * _MS,
        ended_at=parse_time(obj.get("ended_at"), "hangup.ended_at", required=False),
    )


def call_to_json(meta: CallMeta) -> dict[str, Any]:
    return {
        "call_id": meta.call_id,
        "correlation_id": meta.correlation_id,
        "direction": str(meta.direction),
        "scenario": meta.scenario,
        "tenant_id": meta.tenant_id,
        "remote_addr": meta.remote_addr,
        "local_ip": meta.local_ip,
        "codec": meta.codec,
        # A zero time is kept as such (one spelling, so re-posts fingerprint the same), never
        # replaced by the call's start: that depends on what else is stored, the identity must not.
        "started_at": meta.started_at.isoformat() if meta.started_at else GO_ZERO_TIME,
    }


def hangup_to_json(h: HangupMeta) -> dict[str, Any]:
    return {
        "initiator": str(h.initiator),
        "sip_code": h.sip_code,
        "reason": h.reason,
        "duration_ms": h.duration // _MS,
        "ended_at": h.ended_at.isoformat() if h.ended_at else None,
    }


def _raw_call_id(raw: Any) -> str:
    if not isinstance(raw, dict):
        return ""
    call = raw.get("call")
    value = call.get("call_id") if isinstance(call, dict) else raw.get("inbound_call_id")
    if value is None:
        value = raw.get("call_id")
    return value[:255] if isinstance(value, str) else ""


def parse_event_reference(raw: Any, *, received_at: datetime) -> Event | Rejected:
    """Validate one JSON event, field by field in Python. Never raises.

    The reference ``parse_event`` is checked against (tests/unit/lifecycle/test_parse_fast.py), and
    the one that words every rejection: ``parse_event`` hands it whatever its fast path refuses.
    """
    try:
        return _parse(raw)
    except Invalid as exc:
        reason = str(exc)
    except Exception as exc:  # a validator bug must not lose the event either
        reason = f"unprocessable event: {type(exc).__name__}: {exc}"[:500]
    safe = raw if isinstance(raw, dict) else {"value": raw}
    try:
        safe = json.loads(json.dumps(storable_copy(safe), default=repr))
    except (TypeError, ValueError, RecursionError):  # e.g. a key json cannot write
        safe = {"value": repr(raw)[:2000]}
    reason = storable_copy(reason)
    observed = received_at
    try:
        observed = parse_time(safe.get("observed_at"), "observed_at", required=True) or received_at
    except Exception:  # Invalid, or a validator bug: "never raises" holds here too
        pass
    content = {k: v for k, v in safe.items() if k not in ("observed_at", "event_id", "source")}
    return Rejected(
        type=str(safe.get("type", ""))[:32],
        call_id=_raw_call_id(safe),
        fingerprint=fingerprint(content),
        observed_at=observed,
        reason=reason,
        payload=safe,
        content_at=content_time(content),
    )


def _parse(raw: Any) -> Event:
    if not isinstance(raw, dict):
        raise Invalid(f"event: expected an object, got {type(raw).__name__}")
    kind = raw.get("type")
    if kind not in EVENT_TYPES:
        raise Invalid(f"type: unknown event type {kind!r}")
    observed = parse_time(raw.get("observed_at"), "observed_at", required=True)
    assert observed is not None
    payload: dict[str, Any] = {"type": kind}
    call = hangup = None
    target_uri = inbound = outbound = ""
    labels: dict[str, str] = {}
    if kind in META_TYPES:
        call_obj = sub_object(raw, "call")
        call = parse_call(call_obj)
        payload["call"] = call_to_json(call)
        labels = labels_parse(call_obj.get("labels"))
        if labels:  # absent when none: an event without labels keeps the fingerprint it always had
            payload["call"]["labels"] = dict(sorted(labels.items()))
        call_id = call.call_id
    if kind in ("bye", "failed"):
        hangup = parse_hangup(sub_object(raw, "hangup"))
        payload["hangup"] = hangup_to_json(hangup)
    if kind == "transfer_started":
        target_uri = text(raw, "target_uri", "target_uri", 512)
        payload["target_uri"] = target_uri
    if kind == "bridge_started":
        inbound = text(raw, "inbound_call_id", "inbound_call_id", 255, required=True)
        outbound = text(raw, "outbound_call_id", "outbound_call_id", 255, required=True)
        payload.update(inbound_call_id=inbound, outbound_call_id=outbound)
        call_id = inbound
    if kind == "expired":
        call_id = text(raw, "call_id", "call_id", 255, required=True)
        payload["call_id"] = call_id
        hangup = HangupMeta(
            initiator=HangupInitiator.UNKNOWN,
            reason=EXPIRY_REASON,
            ended_at=parse_time(raw.get("ended_at"), "ended_at", required=True),
        )
        payload["ended_at"] = hangup.ended_at.isoformat() if hangup.ended_at else None
    content = dict(payload)
    if kind == "expired":
        content = {"type": kind, "call_id": call_id}  # one expiry per call, however often swept
    elif kind == "transfer_started":
        # Each OnTransferStarted is an attempt, and a queue may dial the same target again:
        # only the moment tells two attempts apart (a redelivery keeps its moment).
        content["observed_at"] = observed.isoformat()
    fp = content_fingerprint(content)
    if isinstance(raw.get("recording"), dict):
        payload["recording"] = storable(raw["recording"], "recording")
    if isinstance(raw.get("event_id"), str):
        payload["event_id"] = storable(raw["event_id"][:128], "event_id")
    if "gateway_id" in raw:  # who delivered it (set by the HTTP edge), not what happened: not in the fingerprint
        payload["gateway_id"] = integer(raw, "gateway_id", "gateway_id", 1, (1 << 63) - 1)
    return Event(
        type=kind,
        call_id=call_id,
        fingerprint=fp,
        observed_at=observed,
        payload=payload,
        call=call,
        hangup=hangup,
        content_at=content_time(content),
        target_uri=target_uri,
        inbound_call_id=inbound,
        outbound_call_id=outbound,
        labels=labels,
    )


def event_from_row(payload: dict[str, Any], observed_at: datetime) -> Event:
    """Rebuild an accepted event from the log (payload + its earliest observation)."""
    raw = dict(payload, observed_at=observed_at.astimezone(UTC).isoformat())
    return _parse_fast(raw) or _parse(raw)


def parse_event(raw: Any, *, received_at: datetime) -> Event | Rejected:
    """Validate one JSON event. Never raises.

    The wire's shape is checked by msgspec (compiled), what it cannot say (RFC 3339 times, storable
    text, label keys, ranges past 64 bits) by the few lines of ``_parse_fast``. Anything the fast
    path does not accept, ``parse_event_reference`` judges: it alone words the rejections, so every
    reason is the one it always gave, and an accepted event is the same ``Event`` either way.
    """
    return _parse_fast(raw) or parse_event_reference(raw, received_at=received_at)


# The wire contract (cdr/schemas/lifecycle-event.schema.json) as msgspec types: one Struct per
# event type, chosen by ``type``. Unknown keys are ignored, as the reference ignores them; a null
# optional field means its default there too (text "", integers 0).
_T32 = Annotated[str, msgspec.Meta(max_length=32)] | None
_T64 = Annotated[str, msgspec.Meta(max_length=64)] | None
_T255 = Annotated[str, msgspec.Meta(max_length=255)] | None
_T512 = Annotated[str, msgspec.Meta(max_length=512)] | None
_ID = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]


class _WireCall(msgspec.Struct, kw_only=True):
    call_id: _ID
    direction: Literal["inbound", "outbound"]
    started_at: str
    correlation_id: _T255 = ""
    scenario: _T64 = ""
    tenant_id: int | None = 0
    remote_addr: _T255 = ""
    local_ip: _T64 = ""
    codec: _T32 = ""


class _WireHangup(msgspec.Struct, kw_only=True):
    initiator: Literal["local", "remote", "unknown", ""] | None = ""
    sip_code: int | None = 0
    duration_ms: int | None = 0
    reason: _T255 = ""
    ended_at: str | None = None


class _WireEvent(msgspec.Struct, kw_only=True, tag_field="type"):
    observed_at: str


class _WireMeta(_WireEvent, kw_only=True):
    call: _WireCall


class _WireRinging(_WireMeta, kw_only=True, tag="ringing"):
    pass


class _WireEstablished(_WireMeta, kw_only=True, tag="established"):
    pass


class _WireTransfer(_WireMeta, kw_only=True, tag="transfer_started"):
    target_uri: _T512 = ""


class _WireBye(_WireMeta, kw_only=True, tag="bye"):
    hangup: _WireHangup


class _WireFailed(_WireMeta, kw_only=True, tag="failed"):
    hangup: _WireHangup


class _WireBridge(_WireEvent, kw_only=True, tag="bridge_started"):
    inbound_call_id: _ID
    outbound_call_id: _ID


class _WireExpired(_WireEvent, kw_only=True, tag="expired"):
    call_id: _ID
    ended_at: str


# By ``type``, looked up here: msgspec.convert caches what it learns of a Struct type, not of a
# Union (converting to the tagged union costs 20 times as much).
_WIRE: dict[Any, type[_WireEvent]] = {
    cls.__struct_config__.tag: cls
    for cls in (_WireRinging, _WireEstablished, _WireTransfer, _WireBye, _WireFailed, _WireBridge, _WireExpired)
}
_GATEWAY_MAX = (1 << 63) - 1


@functools.lru_cache(maxsize=8192)
def _stamp(value: str) -> tuple[datetime, str] | None:
    """A timestamp the reference accepts as (UTC datetime, its isoformat), else None (zero time too)."""
    if len(value) > 40 or is_zero_time(value):
        return None
    parsed = _utc(value)
    return None if parsed is None else (parsed, parsed.isoformat())


def _storable_text(*values: str) -> bool:
    joined = "".join(values)
    return (joined.isascii() and "\x00" not in joined) or not has_unstorable(joined)


def _fast_call(call: _WireCall) -> tuple[CallMeta, dict[str, Any]] | None:
    """``parse_call`` and ``call_to_json`` of a call object msgspec took, or None (refused)."""
    parts = _call_parts(msgspec.structs.astuple(call))
    return None if parts is None else (parts[0], dict(parts[1]))  # a dict of its own: payloads are the caller's


@functools.lru_cache(maxsize=8192)
def _call_parts(fields: tuple[Any, ...]) -> tuple[CallMeta, dict[str, Any]] | None:
    """Cached: every event of a leg repeats its call object, and a batch holds several of each leg."""
    call_id, direction, raw_start, correlation_id, scenario, tenant_id, remote_addr, local_ip, codec = fields
    correlation_id = correlation_id or ""
    scenario = scenario or ""
    remote_addr = remote_addr or ""
    local_ip = local_ip or ""
    codec = codec or ""
    tenant_id = tenant_id or 0
    if not 0 <= tenant_id < _U64:
        return None
    if not _storable_text(call_id, correlation_id, scenario, remote_addr, local_ip, codec):
        return None
    if is_zero_time(raw_start):
        started_at, start_text = None, GO_ZERO_TIME
    else:
        stamp = _stamp(raw_start)
        if stamp is None:
            return None
        started_at, start_text = stamp
    codec = codec.lower()
    meta = CallMeta(
        call_id=call_id,
        correlation_id=correlation_id,
        direction=_DIRECTIONS[direction],
        scenario=scenario,
        tenant_id=tenant_id,
        remote_addr=remote_addr,
        local_ip=local_ip,
        codec=codec,
        started_at=started_at,
    )
    doc = {
        "call_id": call_id,
        "correlation_id": correlation_id,
        "direction": str(direction),
        "scenario": scenario,
        "tenant_id": tenant_id,
        "remote_addr": remote_addr,
        "local_ip": local_ip,
        "codec": codec,
        "started_at": start_text,
    }
    return meta, doc


def _fast_hangup(h: _WireHangup) -> tuple[HangupMeta, dict[str, Any]] | None:
    initiator = h.initiator or "unknown"
    sip_code = h.sip_code or 0
    duration_ms = h.duration_ms or 0
    reason = h.reason or ""
    if not (sip_code == 0 or 100 <= sip_code <= 699) or not 0 <= duration_ms <= 10**12:
        return None
    if not _storable_text(reason):
        return None
    ended_at = ended_text = None
    if h.ended_at and not is_zero_time(h.ended_at):
        stamp = _stamp(h.ended_at)
        if stamp is None:
            return None
        ended_at, ended_text = stamp
    meta = HangupMeta(
        initiator=_INITIATORS[initiator],
        sip_code=sip_code,
        reason=reason,
        duration=duration_ms * _MS,
        ended_at=ended_at,
    )
    doc: dict[str, Any] = {
        "initiator": initiator,
        "sip_code": sip_code,
        "reason": reason,
        "duration_ms": duration_ms,
        "ended_at": ended_text,
    }
    return meta, doc


def _parse_fast(raw: Any) -> Event | None:
    """``_parse(raw)`` for an event it accepts; None for anything else (the reference then decides)."""
    if type(raw) is not dict:
        return None
    kind = raw.get("type")
    if type(kind) is not str or (target := _WIRE.get(kind)) is None:
        return None
    try:
        wire = msgspec.convert(raw, target)
    except Exception:  # ValidationError, or what msgspec cannot take (non-str keys): the reference's
        return None
    observed = _stamp(wire.observed_at)
    if observed is None:
        return None
    payload: dict[str, Any] = {"type": kind}
    call = hangup = None
    target_uri = inbound = outbound = ""
    labels: dict[str, str] = {}
    if isinstance(wire, _WireMeta):
        hangup_wanted = isinstance(wire, _WireBye | _WireFailed)
        parsed_call = _fast_call(wire.call)
        if parsed_call is None:
            return None
        call, payload["call"] = parsed_call
        if type(raw["call"]) is not dict or (hangup_wanted and type(raw["hangup"]) is not dict):
            return None
        raw_labels = raw["call"].get("labels")
        if raw_labels is not None:
            try:
                labels = labels_parse(raw_labels)
            except Invalid:
                return None
            if labels:
                payload["call"]["labels"] = dict(sorted(labels.items()))
        call_id = call.call_id
        if hangup_wanted:
            assert isinstance(wire, _WireBye | _WireFailed)
            parsed_hangup = _fast_hangup(wire.hangup)
            if parsed_hangup is None:
                return None
            hangup, payload["hangup"] = parsed_hangup
        elif isinstance(wire, _WireTransfer):
            target_uri = wire.target_uri or ""
            if not _storable_text(target_uri):
                return None
            payload["target_uri"] = target_uri
    elif isinstance(wire, _WireBridge):
        inbound, outbound = wire.inbound_call_id, wire.outbound_call_id
        if not _storable_text(inbound, outbound):
            return None
        payload.update(inbound_call_id=inbound, outbound_call_id=outbound)
        call_id = inbound
    else:
        assert isinstance(wire, _WireExpired)
        call_id = wire.call_id
        ended = _stamp(wire.ended_at)
        if ended is None or not _storable_text(call_id):
            return None
        payload["call_id"] = call_id
        hangup = HangupMeta(initiator=HangupInitiator.UNKNOWN, reason=EXPIRY_REASON, ended_at=ended[0])
        payload["ended_at"] = ended[1]
    if kind == "expired":
        content: dict[str, Any] = {"type": kind, "call_id": call_id}
    elif kind == "transfer_started":
        content = dict(payload, observed_at=observed[1])
    else:
        content = payload
    fp = content_fingerprint(content)
    try:
        if isinstance(raw.get("recording"), dict):
            payload["recording"] = storable(raw["recording"], "recording")
        if isinstance(raw.get("event_id"), str):
            payload["event_id"] = storable(raw["event_id"][:128], "event_id")
        if "gateway_id" in raw:
            payload["gateway_id"] = integer(raw, "gateway_id", "gateway_id", 1, _GATEWAY_MAX)
    except Invalid:
        return None
    return Event(
        type=kind,
        call_id=call_id,
        fingerprint=fp,
        observed_at=observed[0],
        payload=payload,
        call=call,
        hangup=hangup,
        content_at=content_time(content),
        target_uri=target_uri,
        inbound_call_id=inbound,
        outbound_call_id=outbound,
        labels=labels,
    )
