"""Hooks values -> the JSON event shape (the same shape the HTTP ingestion API accepts).

Encoding never raises and never judges: values are carried as faithfully as JSON allows
(a naive datetime stays naive, an unknown enum string stays as it is) and
``cdr.lifecycle.events.parse_event`` decides what is valid. It runs on the sink's background
thread, never on the gateway's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from cdr.hooks import CallMeta, HangupMeta, RecordingArtifact


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.isoformat()  # stays naive: parse_event rejects it with a reason
        return value.astimezone(UTC).isoformat()
    return repr(value)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_time_ns(ns: int) -> str:
    # Integer arithmetic, truncated to the store's microseconds: ns / 1e9 as a float has a
    # quarter-microsecond error today and could merge two stamps one microsecond apart.
    return (_EPOCH + timedelta(microseconds=ns // 1000)).isoformat()


def encode_call(meta: Any) -> dict[str, Any]:
    if not isinstance(meta, CallMeta):
        return {"invalid": repr(meta)[:200]}
    return {
        "call_id": _scalar(meta.call_id),
        "correlation_id": _scalar(meta.correlation_id),
        "direction": _scalar(meta.direction),
        "scenario": _scalar(meta.scenario),
        "tenant_id": _scalar(meta.tenant_id),
        "remote_addr": _scalar(meta.remote_addr),
        "local_ip": _scalar(meta.local_ip),
        "codec": _scalar(meta.codec),
        "started_at": _scalar(meta.started_at),
    }


def encode_hangup(hangup: Any) -> dict[str, Any]:
    if not isinstance(hangup, HangupMeta):
        return {"invalid": repr(hangup)[:200]}
    duration = hangup.duration
    if isinstance(duration, timedelta):
        duration_ms: Any = duration // timedelta(milliseconds=1)
    else:
        duration_ms = _scalar(duration)
    return {
        "initiator": _scalar(hangup.initiator),
        "sip_code": _scalar(hangup.sip_code),
        "reason": _scalar(hangup.reason),
        "duration_ms": duration_ms,
        "ended_at": _scalar(hangup.ended_at),
    }


def encode_recording(artifact: Any) -> dict[str, Any] | None:
    """A summary only: media bytes never travel through the task queue."""
    if not isinstance(artifact, RecordingArtifact):
        return None
    payload = artifact.payload if isinstance(artifact.payload, (bytes, bytearray)) else b""
    if not payload:
        return None
    return {
        "format": _scalar(artifact.format),
        "codec": _scalar(artifact.codec),
        "sample_rate": _scalar(artifact.sample_rate),
        "channels": _scalar(artifact.channels),
        "bytes": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
    }


def encode_hook_call(
    method: str, args: tuple[Any, ...], observed_ns: int, labels: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """One LifecycleSink invocation (method name and its arguments) -> one JSON event.

    ``labels``: the call's labels when the hook fired (the sink's ``set_labels``), sent as
    ``call.labels`` on the events that carry the call.
    """
    event: dict[str, Any] = {"observed_at": encode_time_ns(observed_ns), "source": "sink"}
    if method in ("on_ringing", "on_established"):
        event["type"] = method[3:]
        event["call"] = encode_call(args[0])
    elif method == "on_transfer_started":
        event["type"] = "transfer_started"
        event["call"] = encode_call(args[0])
        event["target_uri"] = _scalar(args[1])
    elif method == "on_bridge_started":
        event["type"] = "bridge_started"
        event["inbound_call_id"] = _scalar(args[0])
        event["outbound_call_id"] = _scalar(args[1])
    elif method == "on_bye":
        event["type"] = "bye"
        event["call"] = encode_call(args[0])
        event["hangup"] = encode_hangup(args[1])
        recording = encode_recording(args[2])
        if recording is not None:
            event["recording"] = recording
    elif method == "on_failed":
        event["type"] = "failed"
        event["call"] = encode_call(args[0])
        event["hangup"] = encode_hangup(args[1])
    else:
        event["type"] = str(method)
    if labels and isinstance(event.get("call"), dict) and "invalid" not in event["call"]:
        event["call"]["labels"] = dict(labels)
    return event
