"""Validated events handed from the HTTP edge to the worker: written once parsed, loaded unparsed.

Pure. The edge parses every event to answer for it; what it queues (``GatewayBatch.events``) is
that verdict, so the worker that drains the queue does not parse it again:

* format 2 (``events_dump``): ``{"format": 2, "events": [[fingerprint, observed_at, payload], ...]}``,
  the accepted ``Event``s (their normalised payload, the moment, the content fingerprint), rebuilt
  by ``event_load`` without a check, as the edge already made them;
* format 1 (a JSON array of wire events, as queued before format 2): returned as they are, for the
  worker to parse, so batches queued by an older release still drain after an upgrade.
"""

from __future__ import annotations

import functools
import json
import operator
from datetime import datetime, timedelta
from typing import Any

import msgspec

from cdr.hooks import CallMeta, Direction, HangupInitiator, HangupMeta
from cdr.lifecycle.events import EXPIRY_REASON, Event, content_time
from cdr.lifecycle.fields import GO_ZERO_TIME

FORMAT = 2
_DIRECTIONS = {str(d): d for d in Direction}
_INITIATORS = {str(i): i for i in HangupInitiator}
_fromiso = datetime.fromisoformat
_MS = timedelta(milliseconds=1)


def events_dump(events: list[Event]) -> str:
    """Accepted events as queued text (format 2)."""
    doc = {"format": FORMAT, "events": [[e.fingerprint, e.observed_at.isoformat(), e.payload] for e in events]}
    try:
        return msgspec.json.encode(doc).decode()
    except (TypeError, UnicodeEncodeError, OverflowError):  # not in a validated event; kept for safety
        return json.dumps(doc)


def events_document(text: str) -> Any:
    """The queued JSON as it is (either format). msgspec, not orjson: orjson reads an integer past 64
    bits (free-form ``recording`` fields may hold one) as a float, and the event would change."""
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:  # json.dumps's escapes msgspec refuses (an unpaired surrogate, format 1)
        return json.loads(text)


def events_load(text: str) -> list[Event | Any]:
    """Queued text as the worker stores it: ``Event``s (format 2), or wire events to parse (format 1).

    Raises ``ValueError`` for text that is neither (a row edited by hand): the drain sets it aside.
    """
    doc = events_document(text)
    if isinstance(doc, list):
        return doc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("events"), list):
        shown = doc.get("format") if isinstance(doc, dict) else doc
        raise ValueError(f"queued events: unknown format {str(shown)[:40]}")
    return [event_load(fp, observed_at, payload) for fp, observed_at, payload in doc["events"]]


def wire_events_load(text: str) -> list[Any]:
    """Queued text as wire events, whichever format (for what edits a queued batch: erasure)."""
    return [event_wire(e) if isinstance(e, Event) else e for e in events_load(text)]


_CALL_FIELDS = operator.itemgetter(
    "call_id", "correlation_id", "direction", "scenario", "tenant_id", "remote_addr", "local_ip", "codec", "started_at"
)


@functools.lru_cache(maxsize=8192)
def _call_meta(fields: tuple[Any, ...]) -> CallMeta:
    """Cached: the events of a leg repeat its call, and a batch holds several of each leg."""
    call_id, correlation_id, direction, scenario, tenant_id, remote_addr, local_ip, codec, start = fields
    return CallMeta(
        call_id=call_id,
        correlation_id=correlation_id,
        direction=_DIRECTIONS[direction],
        scenario=scenario,
        tenant_id=tenant_id,
        remote_addr=remote_addr,
        local_ip=local_ip,
        codec=codec,
        started_at=None if start == GO_ZERO_TIME else _fromiso(start),
    )


def event_wire(event: Event) -> dict[str, Any]:
    """An accepted event as a wire event (its payload and moment), which parses to the same ``Event``."""
    return dict(event.payload, observed_at=event.observed_at.isoformat())


def event_load(fingerprint: str, observed_at: str, payload: dict[str, Any]) -> Event:
    """The ``Event`` ``parse_event`` made of this payload (what it writes, not what it read): no check."""
    kind = payload["type"]
    call = hangup = None
    labels: dict[str, str] = {}
    target_uri = inbound = outbound = ""
    doc = payload.get("call")
    if doc is not None:
        call = _call_meta(_CALL_FIELDS(doc))
        labels = dict(doc.get("labels", ()))
        call_id = call.call_id
    if kind == "bye" or kind == "failed":
        h = payload["hangup"]
        hangup = HangupMeta(
            initiator=_INITIATORS[h["initiator"]],
            sip_code=h["sip_code"],
            reason=h["reason"],
            duration=h["duration_ms"] * _MS,
            ended_at=None if h["ended_at"] is None else _fromiso(h["ended_at"]),
        )
    elif kind == "transfer_started":
        target_uri = payload["target_uri"]
    elif kind == "bridge_started":
        inbound, outbound = payload["inbound_call_id"], payload["outbound_call_id"]
        call_id = inbound
    elif kind == "expired":
        call_id = payload["call_id"]
        hangup = HangupMeta(
            initiator=HangupInitiator.UNKNOWN, reason=EXPIRY_REASON, ended_at=_fromiso(payload["ended_at"])
        )
    return Event(
        type=kind,
        call_id=call_id,
        fingerprint=fingerprint,
        observed_at=_fromiso(observed_at),
        payload=payload,
        call=call,
        hangup=hangup,
        content_at=content_time(payload),  # it reads only the type, call and hangup: the content's
        target_uri=target_uri,
        inbound_call_id=inbound,
        outbound_call_id=outbound,
        labels=labels,
    )
