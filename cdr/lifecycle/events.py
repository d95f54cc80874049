"""The lifecycle event: validation of the JSON shape and its content fingerprint.

One validation path for every source (in-process sink, HTTP ingestion, sweeper), so an event
means the same thing whoever delivered it. Invalid events are not dropped: they come back as
``Rejected`` with a reason, and the store keeps them in the event log.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from cdr.hooks import CallMeta, Direction, HangupInitiator, HangupMeta
from cdr.lifecycle.fields import (
    GO_ZERO_TIME,
    Invalid,
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


def parse_event(raw: Any, *, received_at: datetime) -> Event | Rejected:
    """Validate one JSON event. Never raises."""
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
            reason="no end event before the timeout",
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
    return _parse(raw)
