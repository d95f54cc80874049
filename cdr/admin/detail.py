"""What the call detail page shows besides the record itself: timeline, hangup, transfers, legs.

Every related leg is checked against the viewer's tenants before it is linked.
"""

from __future__ import annotations

import json
from typing import Any

from django.urls import reverse

from cdr.admin.display import duration, local_time, zone_label
from cdr.models import Call, CallEvent, Gateway, Hangup, Transfer, TransferOutcome
from cdr.selectors.access import tenant_ids_for
from cdr.selectors.calls import call_events_visible


def _summary(event: CallEvent) -> str:
    payload = event.payload if isinstance(event.payload, dict) else {}
    hangup = payload.get("hangup") or {}
    if event.type in ("bye", "failed") and hangup:
        parts = [hangup.get("initiator", ""), str(hangup.get("sip_code") or ""), hangup.get("reason", "")]
        return " ".join(p for p in parts if p)
    if event.type == "transfer_started":
        return payload.get("target_uri", "")
    if event.type == "bridge_started":
        return f"bridged to {payload.get('outbound_call_id', '')}"
    if event.type == "expired":
        return "no end event before the timeout"
    return ""


def _delivered_by(events: list[CallEvent]) -> list[str]:
    """Who delivered each event: the in-process sink, the sweeper, or a named gateway over HTTP."""
    ids = [e.payload.get("gateway_id") if isinstance(e.payload, dict) else None for e in events]
    wanted = {i for i in ids if isinstance(i, int)}
    names = dict(Gateway.objects.filter(pk__in=wanted).values_list("pk", "name")) if wanted else {}
    return [
        f"gateway {names.get(i, f'#{i} (deleted)')}" if isinstance(i, int) else e.source
        for e, i in zip(events, ids, strict=True)
    ]


def _link(call: Call | None, ids: set[int] | None) -> dict[str, Any] | None:
    if call is None or (ids is not None and call.tenant_id not in ids):
        return None
    return {"call_id": call.call_id, "url": reverse("admin:cdr_call_change", args=[call.pk]), "call": call}


def _leg_end(leg: Call) -> str:
    return " ".join(str(p) for p in (leg.sip_code, leg.hangup_reason) if p) or leg.status


def call_detail(*, user: Any, call: Call) -> dict[str, Any]:
    """Template context for one call, as ``user`` may see it."""
    ids = tenant_ids_for(user)
    tz = call.tenant.time_zone
    events = call_events_visible(call=call, tenant_ids=ids)
    delivered_by = _delivered_by(events)
    timeline = [
        {
            "at": local_time(e.observed_at, tz),
            "offset_s": (e.observed_at - call.started_at).total_seconds(),
            "type": e.type,
            "status": e.status,
            "reason": e.reason,
            "summary": _summary(e),
            "delivered_by": by,
        }
        for e, by in zip(events, delivered_by, strict=True)
    ]
    raw = [
        {"type": e.type, "status": e.status, "json": json.dumps(e.payload, indent=2, sort_keys=True)} for e in events
    ]
    hangup = Hangup.objects.filter(call=call).first()
    transfers = [
        {
            "transfer": t,
            "attempted_at": local_time(t.attempted_at, tz),
            "bridged_at": local_time(t.bridged_at, tz),
            "agent": (agent := _link(t.outbound, ids)),
            # Why an attempt failed is its agent leg's end (486 Busy Here, 480, 408 ...).
            "end": _leg_end(agent["call"]) if agent and t.outcome == TransferOutcome.FAILED else "",
        }
        for t in Transfer.objects.filter(inbound=call).select_related("outbound").order_by("attempt")
    ]
    # This leg as the agent leg of a transfer, and the legs that name it as their correlation.
    answered = [
        {"transfer": t, "inbound": _link(t.inbound, ids)}
        for t in Transfer.objects.filter(outbound=call).select_related("inbound").order_by("inbound_id", "attempt")
    ]
    parent = None
    if call.correlation_id:
        parent = _link(Call.objects.filter(call_id=call.correlation_id).first(), ids)
    children = [
        link
        for c in Call.objects.filter(correlation_id=call.call_id).order_by("started_at", "id")[:50]
        if (link := _link(c, ids))
    ]
    return {
        "tenant_zone": zone_label(tz),
        "times": [
            (label, local_time(getattr(call, name), tz))
            for label, name in (
                ("Started", "started_at"),
                ("Ringing", "ringing_at"),
                ("Established", "established_at"),
                ("Ended", "ended_at"),
            )
        ],
        "labels": sorted((call.labels or {}).items()),
        "timeline": timeline,
        "raw_events": raw,
        "hangup": hangup,
        "hangup_ended_at": local_time(hangup.ended_at, tz) if hangup else "",
        "hangup_duration": duration(hangup.reported_duration_ms) if hangup else "",
        "transfers": transfers,
        "answered": answered,
        "parent_leg": parent,
        "child_legs": children,
    }
