"""One wire event checked for HTTP ingestion: ``parse_event`` plus what only a gateway must obey.

Pure (no database), so the published JSON Schema can be tested against it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from cdr.lifecycle.events import Event, Rejected, fingerprint, parse_event
from cdr.lifecycle.fields import storable_copy

# The issue names the moment ``occurred_at``; the sink has always sent ``observed_at``. Either.
ALIAS = "occurred_at"
_EVENT_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
HOOK_TYPES = ("ringing", "established", "transfer_started", "bridge_started", "bye", "failed")
# Of a whole body (array, event, its objects, up to 32 levels of free-form JSON kept in an event).
# Python's json recursion stops somewhere near 1,000 levels less the stack in use: past this bound
# a body is refused whatever the stack, instead of passing the parser and failing further on.
MAX_JSON_DEPTH = 64


def json_depth_exceeds(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``value`` nests arrays/objects more than ``limit`` levels deep (iterative: any depth)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


def _rejected(raw: Any, reason: str, received_at: datetime) -> Rejected:
    try:
        fp = fingerprint(raw)
    except RecursionError:  # "never raises": a deep event gets the fingerprint of its storable copy
        fp = fingerprint(storable_copy(raw))
    return Rejected(type="", call_id="", fingerprint=fp, observed_at=received_at, reason=reason, payload={})


def wire_event_parse(raw: Any, *, received_at: datetime) -> tuple[dict[str, Any], Event | Rejected]:
    """(the event as it will be published, its validation). Never raises."""
    if not isinstance(raw, dict):
        return {}, _rejected(None, f"event: expected an object, got {type(raw).__name__}", received_at)
    if ALIAS in raw:
        if "observed_at" in raw:
            return raw, _rejected(raw, "occurred_at: give observed_at or occurred_at, not both", received_at)
        raw = dict(raw)
        raw["observed_at"] = raw.pop(ALIAS)
    if "gateway_id" in raw:  # the server's to set (gateway_events_accept stamps it): whatever was sent is ignored
        raw = {k: v for k, v in raw.items() if k != "gateway_id"}
    event_id = raw.get("event_id")
    if event_id is not None and not (isinstance(event_id, str) and _EVENT_ID.match(event_id)):
        return raw, _rejected(raw, "event_id: expected 1..128 printable ASCII characters without spaces", received_at)
    if raw.get("type") not in HOOK_TYPES:
        kind = raw.get("type")
        return raw, _rejected(raw, f"type: unknown event type {str(kind)[:40]!r} ({'|'.join(HOOK_TYPES)})", received_at)
    return raw, parse_event(raw, received_at=received_at)
