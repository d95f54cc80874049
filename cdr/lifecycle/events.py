"""The lifecycle event: validation of the JSON shape and its content fingerprint.

One validation path for every source (in-process sink, HTTP ingestion, sweeper), so an event
means the same thing whoever delivered it. Invalid events are not dropped: they come back as
``Rejected`` with a reason, and the store keeps them in the event log.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from cdr.hooks import CallMeta, Direction, HangupInitiator, HangupMeta

EVENT_TYPES = frozenset({"ringing", "established", "transfer_started", "bridge_started", "bye", "failed", "expired"})
META_TYPES = frozenset({"ringing", "established", "transfer_started", "bye", "failed"})
END_TYPES = frozenset({"bye", "failed", "expired"})
_U64 = 1 << 64
# The pattern of the published schema (cdr/schemas/lifecycle-event.schema.json).
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$")
_NAIVE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")
# Canonical JSON of an event's content, hashed into its fingerprint. One encoder, built once, with
# exactly json.dumps(sort_keys=True, separators=(",", ":"), default=repr)'s settings: the bytes (and
# so every stored fingerprint) are the same; only the per-call construction is saved.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=repr)
# What PostgreSQL's text and jsonb cannot hold: NUL, and UTF-16 surrogates without their pair
# (JSON's "\ud800" escape gives Python such a string); nor can json hold NaN or infinities. One
# such value fails the whole batch's transaction, so a valid event never carries one and a
# rejected event is stored with them replaced (_storable_copy).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_UNSTORABLE_REASON = "contains NUL or an unpaired surrogate, which cannot be stored"
_MAX_DEPTH = 32  # of free-form JSON kept in an event (the sink's recording summary; rejected payloads)
_DIRECTIONS = {str(d): d for d in Direction}
_INITIATORS = {str(i): i for i in HangupInitiator}
_MS = timedelta(milliseconds=1)


class Invalid(ValueError):
    """A field of an event is unusable; the message names the field."""


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    call_id: str
    fingerprint: str
    observed_at: datetime
    payload: dict[str, Any]  # normalised, JSON-safe; what the log stores
    call: CallMeta | None = None
    hangup: HangupMeta | None = None
    target_uri: str = ""
    inbound_call_id: str = ""
    outbound_call_id: str = ""


@dataclass(frozen=True, slots=True)
class Rejected:
    type: str
    call_id: str
    fingerprint: str
    observed_at: datetime
    reason: str
    payload: dict[str, Any] = field(default_factory=dict)


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


@functools.lru_cache(maxsize=8192)
def _utc(value: str) -> datetime | None:
    """A valid RFC 3339 timestamp as an aware UTC datetime, else None. Cached: the legs of a call
    repeat their StartedAt in every event, and a batch holds many events of the same calls."""
    if not _RFC3339.match(value):
        return None
    try:
        parsed = datetime.fromisoformat(value)
        return parsed.astimezone(UTC) if parsed.tzinfo is not None else None
    except (ValueError, OverflowError):  # OverflowError: valid, but outside years 1..9999 in UTC
        return None


def parse_time(value: Any, name: str, *, required: bool) -> datetime | None:
    if type(value) is str and len(value) <= 40 and not value.startswith("0001-01-01"):
        parsed = _utc(value)
        if parsed is not None:
            return parsed
    # Not a valid timestamp (or Go's zero time): the checks below say which rule it breaks.
    if value in (None, "") or (isinstance(value, str) and value.startswith("0001-01-01")):
        if required:
            raise Invalid(f"{name}: required")
        return None  # Go's zero time.Time
    if not isinstance(value, str):
        raise Invalid(f"{name}: expected an RFC 3339 string, got {type(value).__name__}")
    if not _RFC3339.match(value):
        # fromisoformat alone takes ISO 8601 forms RFC 3339 (and the published schema) do not.
        if _NAIVE.match(value):
            raise Invalid(f"{name}: naive timestamp (no UTC offset): {value[:40]!r}")
        raise Invalid(f"{name}: not an RFC 3339 timestamp: {value[:40]!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{name}: not an RFC 3339 timestamp: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        raise Invalid(f"{name}: naive timestamp (no UTC offset): {value[:40]!r}")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise Invalid(f"{name}: outside years 1 to 9999 in UTC: {value[:40]!r}") from None


def _text(obj: dict[str, Any], key: str, name: str, limit: int, *, required: bool = False) -> str:
    value = obj.get(key, "")
    if type(value) is str and len(value) <= limit and (value or not required) and value.isascii():
        if "\x00" not in value:
            return value
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"{name}: expected a string, got {type(value).__name__}")
    if required and not value:
        raise Invalid(f"{name}: required (empty)")
    if len(value) > limit:
        raise Invalid(f"{name}: longer than {limit} characters")
    if _UNSTORABLE.search(value):
        raise Invalid(f"{name}: {_UNSTORABLE_REASON}")
    return value


def _storable(value: Any, name: str) -> Any:
    """Free-form JSON kept as it is in a valid event, checked: Invalid names what cannot be stored."""
    stack = [(value, name, 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                raise Invalid(f"{path}: {_UNSTORABLE_REASON}")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise Invalid(f"{path}: {item!r} is not a JSON number")
        elif isinstance(item, dict | list):
            if depth >= _MAX_DEPTH:
                raise Invalid(f"{path}: nested deeper than {_MAX_DEPTH} levels")
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for k, v in pairs:
                if isinstance(k, str) and _UNSTORABLE.search(k):
                    raise Invalid(f"{path}: a key {_UNSTORABLE_REASON}")
                stack.append((v, f"{path}.{k}" if isinstance(item, dict) else f"{path}[{k}]", depth + 1))
    return value


def _storable_copy(value: Any) -> Any:
    """A copy of any JSON value that PostgreSQL can store: NUL and unpaired surrogates become
    U+FFFD, NaN and infinities null, objects nested past the depth limit a note."""

    def scalar(v: Any) -> Any:
        if isinstance(v, str):
            return _UNSTORABLE.sub("\ufffd", v)
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v

    def container(v: Any) -> Any:
        return {} if isinstance(v, dict) else []

    if not isinstance(value, dict | list):
        return scalar(value)
    root = container(value)
    stack = [(value, root, 0)]
    while stack:
        src, dst, depth = stack.pop()
        pairs = src.items() if isinstance(src, dict) else enumerate(src)
        for k, v in pairs:
            if not isinstance(v, dict | list):
                child = scalar(v)
            elif depth + 1 >= _MAX_DEPTH:
                child = f"(nested deeper than {_MAX_DEPTH} levels)"
            else:
                child = container(v)
                stack.append((v, child, depth + 1))
            if isinstance(dst, dict):
                dst[scalar(k)] = child
            else:
                dst.append(child)
    return root


def _int(obj: dict[str, Any], key: str, name: str, lo: int, hi: int) -> int:
    value = obj.get(key, 0)
    if type(value) is int and lo <= value <= hi:
        return value
    if value is None:
        value = 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{name}: expected an integer, got {type(value).__name__}")
    if not lo <= value <= hi:
        raise Invalid(f"{name}: {value} is outside {lo}..{hi}")
    return value


def _dict(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    if not isinstance(value, dict):
        raise Invalid(f"{key}: expected an object")
    return value


def parse_call(obj: dict[str, Any]) -> CallMeta:
    direction = _text(obj, "direction", "call.direction", 32)
    if direction not in (Direction.INBOUND, Direction.OUTBOUND):
        raise Invalid(f"call.direction: unknown value {direction!r} (inbound|outbound)")
    return CallMeta(
        call_id=_text(obj, "call_id", "call.call_id", 255, required=True),
        correlation_id=_text(obj, "correlation_id", "call.correlation_id", 255),
        direction=_DIRECTIONS[direction],
        scenario=_text(obj, "scenario", "call.scenario", 64),
        tenant_id=_int(obj, "tenant_id", "call.tenant_id", 0, _U64 - 1),
        remote_addr=_text(obj, "remote_addr", "call.remote_addr", 255),
        local_ip=_text(obj, "local_ip", "call.local_ip", 64),
        codec=_text(obj, "codec", "call.codec", 32).lower(),
        started_at=parse_time(obj.get("started_at"), "call.started_at", required=True),
    )


def parse_hangup(obj: dict[str, Any]) -> HangupMeta:
    initiator = _text(obj, "initiator", "hangup.initiator", 32) or HangupInitiator.UNKNOWN
    if initiator not in (HangupInitiator.LOCAL, HangupInitiator.REMOTE, HangupInitiator.UNKNOWN):
        raise Invalid(f"hangup.initiator: unknown value {initiator!r} (local|remote|unknown)")
    sip_code = _int(obj, "sip_code", "hangup.sip_code", 0, 699)
    if 0 < sip_code < 100:
        raise Invalid(f"hangup.sip_code: {sip_code} is not a SIP status (100..699, or 0)")
    duration_ms = _int(obj, "duration_ms", "hangup.duration_ms", 0, 10**12)
    return HangupMeta(
        initiator=_INITIATORS[initiator],
        sip_code=sip_code,
        reason=_text(obj, "reason", "hangup.reason", 255),
        duration=duration_ms * _MS,
        ended_at=parse_time(obj.get("ended_at"), "hangup.ended_at", required=False),
    )


def call_to_json(meta: CallMeta) -> dict[str, Any]:
    assert meta.started_at is not None
    return {
        "call_id": meta.call_id,
        "correlation_id": meta.correlation_id,
        "direction": str(meta.direction),
        "scenario": meta.scenario,
        "tenant_id": meta.tenant_id,
        "remote_addr": meta.remote_addr,
        "local_ip": meta.local_ip,
        "codec": meta.codec,
        "started_at": meta.started_at.isoformat(),
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
        safe = json.loads(json.dumps(_storable_copy(safe), default=repr))
    except (TypeError, ValueError, RecursionError):  # e.g. a key json cannot write
        safe = {"value": repr(raw)[:2000]}
    reason = _storable_copy(reason)
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
    if kind in META_TYPES:
        call = parse_call(_dict(raw, "call"))
        payload["call"] = call_to_json(call)
        call_id = call.call_id
    if kind in ("bye", "failed"):
        hangup = parse_hangup(_dict(raw, "hangup"))
        payload["hangup"] = hangup_to_json(hangup)
    if kind == "transfer_started":
        target_uri = _text(raw, "target_uri", "target_uri", 512)
        payload["target_uri"] = target_uri
    if kind == "bridge_started":
        inbound = _text(raw, "inbound_call_id", "inbound_call_id", 255, required=True)
        outbound = _text(raw, "outbound_call_id", "outbound_call_id", 255, required=True)
        payload.update(inbound_call_id=inbound, outbound_call_id=outbound)
        call_id = inbound
    if kind == "expired":
        call_id = _text(raw, "call_id", "call_id", 255, required=True)
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
        payload["recording"] = _storable(raw["recording"], "recording")
    if isinstance(raw.get("event_id"), str):
        payload["event_id"] = _storable(raw["event_id"][:128], "event_id")
    if "gateway_id" in raw:  # who delivered it (set by the HTTP edge), not what happened: not in the fingerprint
        payload["gateway_id"] = _int(raw, "gateway_id", "gateway_id", 1, (1 << 63) - 1)
    return Event(
        type=kind,
        call_id=call_id,
        fingerprint=fp,
        observed_at=observed,
        payload=payload,
        call=call,
        hangup=hangup,
        target_uri=target_uri,
        inbound_call_id=inbound,
        outbound_call_id=outbound,
    )


def event_from_row(payload: dict[str, Any], observed_at: datetime) -> Event:
    """Rebuild an accepted event from the log (payload + its earliest observation)."""
    raw = dict(payload, observed_at=observed_at.astimezone(UTC).isoformat())
    return _parse(raw)
