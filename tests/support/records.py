"""Calls with everything that can hang on them (hangup, transfer, agent leg, recording), for the
retention and erasure tests and the retention bench."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.files.base import ContentFile

from cdr.services import events_ingest
from cdr.services.recordings import recording_store
from cdr.storage.backend import recordings_storage
from tests.support.factories import bye, call


def _at(start: datetime, s: float) -> str:
    return (start + timedelta(seconds=s)).isoformat()


def call_events(
    call_id: str, tenant_id: int, started: datetime, remote: str = "203.0.113.5:5060", labels: dict | None = None
) -> list[dict]:
    """An inbound call transferred to an agent leg ``<call_id>-agent``, both ended by a BYE; the
    inbound leg's events carry ``labels`` when given."""
    inbound = call(call_id, tenant_id=tenant_id, remote_addr=remote, started_at=started.isoformat())
    if labels:
        inbound["labels"] = labels
    agent = call(
        f"{call_id}-agent",
        tenant_id=tenant_id,
        direction="outbound",
        correlation_id=call_id,
        scenario="transfer_agent",
        remote_addr="10.9.9.9:5060",
        started_at=_at(started, 10),
    )

    def ev(kind: str, s: float, meta: dict, **extra: object) -> dict:
        return {"type": kind, "observed_at": _at(started, s), "source": "sink", "call": meta, **extra}

    out = [
        ev("ringing", 0.5, inbound),
        ev("established", 2, inbound),
        ev("transfer_started", 9, inbound, target_uri="sip:agent@pbx"),
        ev("ringing", 10.5, agent),
        ev("established", 12, agent),
        {"type": "bridge_started", "observed_at": _at(started, 12.2), "inbound_call_id": call_id,
         "outbound_call_id": f"{call_id}-agent"},
        bye(0, 0, agent),
        bye(0, 0, inbound),
    ]  # fmt: skip
    # bye() times are relative to factories.T0: place the ends after this call's start.
    for item, s in ((out[-2], 70), (out[-1], 71)):
        item["observed_at"] = item["hangup"]["ended_at"] = _at(started, s)
    return out


def call_seed(
    call_id: str, tenant_id: int, started: datetime, remote: str = "203.0.113.5:5060", labels: dict | None = None
) -> None:
    events_ingest(events=call_events(call_id, tenant_id, started, remote, labels))


def recording_seed(call_id: str, tenant_id: int) -> str:
    """A stored object and its Recording row for the call; returns the object's key."""
    key = f"test/{tenant_id}/{call_id}.sn3"
    recordings_storage().save(key, ContentFile(b"not really audio"))
    recording_store(
        tenant_id=tenant_id, call_id=call_id, fmt="sn3", codec="pcma", sample_rate=8000, channels=2, size=16,
        sha256="b" * 64, storage_key=key, wav_ready=True,
    )  # fmt: skip
    return key


def orphan_leg_seed(call_id: str, tenant_id: int, started: datetime, gateway_id: int) -> None:
    """``call_seed`` whose agent leg stays tenant 0: reported with tenant 0 by gateway ``gateway_id``,
    which may not report ``tenant_id``, before the inbound leg (so the edge could not refuse it)."""
    events = call_events(call_id, tenant_id, started)
    agent = [e for e in events if e.get("call", {}).get("call_id") == f"{call_id}-agent"]
    for e in agent:
        e["call"]["tenant_id"] = 0
        e["gateway_id"] = gateway_id
    events_ingest(events=agent)
    events_ingest(events=[e for e in events if e not in agent])
