"""JSON lifecycle events as the sink encodes them, for tests."""

from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


def iso(t: datetime) -> str:
    return t.isoformat()


def call(call_id="c1@gw", **over):
    meta = {
        "call_id": call_id,
        "correlation_id": "",
        "direction": "inbound",
        "scenario": "",
        "tenant_id": 7,
        "remote_addr": "203.0.113.5:5060",
        "local_ip": "10.0.0.2",
        "codec": "pcma",
        "started_at": iso(T0),
    }
    meta.update(over)
    return meta


def event(kind, at_s=0.0, meta=None, **extra):
    ev = {"type": kind, "observed_at": iso(T0 + timedelta(seconds=at_s)), "source": "sink"}
    if kind not in ("bridge_started", "expired"):
        ev["call"] = meta or call()
    ev.update(extra)
    return ev


def hangup(ended_s, initiator="remote", sip_code=200, reason="Normal Clearing", duration_ms=0):
    return {
        "initiator": initiator,
        "sip_code": sip_code,
        "reason": reason,
        "duration_ms": duration_ms,
        "ended_at": iso(T0 + timedelta(seconds=ended_s)),
    }


def bye(at_s, ended_s, meta=None, **h):
    return event("bye", at_s, meta, hangup=hangup(ended_s, **h))


def failed(at_s, ended_s, meta=None, **h):
    h.setdefault("sip_code", 486)
    h.setdefault("reason", "Busy Here")
    return event("failed", at_s, meta, hangup=hangup(ended_s, **h))
