"""Two tenants' realistic calls, their staff and recordings, written through the real ingestion path."""

from __future__ import annotations

import hashlib
import io
import math
import struct
import wave
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone

from cdr.models import Tenant, TenantMembership
from cdr.services import events_ingest
from cdr.services.recordings import recording_store
from tests.support.factories import T0, bye, call, event, failed

TENANT_A, TENANT_B = 7, 2**63 + 11  # B beyond 2**63: the unsigned TenantID path too
PASSWORD = "correct horse battery"


@dataclass
class TenantCalls:
    tenant_id: int
    answered: str
    failed: str
    inbound: str  # transferred inbound leg
    agent: str  # its bridged agent leg (tenant inherited through the correlation id)
    live: str  # ringing right now
    all: list[str] = field(default_factory=list)


def _at(seconds: float, base: datetime = T0) -> str:
    return (base + timedelta(seconds=seconds)).isoformat()


def tenant_calls(tenant_id: int, prefix: str, *, remote: str, now: datetime | None = None) -> TenantCalls:
    """One answered, one failed, one transferred (inbound + agent leg) and one live call."""
    now = now or timezone.now()
    answered = call(f"{prefix}-answered@gw", tenant_id=tenant_id, remote_addr=f"{remote}:5060", scenario="ivr")
    busy = call(f"{prefix}-failed@gw", tenant_id=tenant_id, remote_addr=f"{remote}:5062", started_at=_at(60))
    inbound = call(
        f"{prefix}-inbound@gw", tenant_id=tenant_id, remote_addr=f"{remote}:5060", scenario="queue", started_at=_at(120)
    )
    agent = call(
        f"{prefix}-agent@gw",
        tenant_id=0,
        direction="outbound",
        correlation_id=inbound["call_id"],
        scenario="transfer_agent",
        remote_addr="10.9.9.9:5060",
        started_at=_at(130),
    )
    live = call(f"{prefix}-live@gw", tenant_id=tenant_id, remote_addr=f"{remote}:5070", started_at=now.isoformat())
    events_ingest(
        events=[
            event("ringing", 0.4, answered),
            event("established", 2, answered),
            bye(62, 62, answered, initiator="remote", sip_code=200),
            event("ringing", 60.3, busy),
            failed(65, 65, busy, sip_code=486, reason="Busy Here", initiator="local"),
            event("ringing", 120.2, inbound),
            event("established", 121, inbound),
            event("transfer_started", 129, inbound, target_uri=f"sip:agent@{prefix}.pbx"),
            event("ringing", 130.5, agent),
            event("established", 133, agent),
            {
                "type": "bridge_started",
                "observed_at": _at(133.2),
                "inbound_call_id": inbound["call_id"],
                "outbound_call_id": agent["call_id"],
            },
            bye(200, 200, agent, initiator="remote", sip_code=200),
            bye(200.3, 200.3, inbound, initiator="local", sip_code=200),
            {"type": "ringing", "observed_at": now.isoformat(), "source": "sink", "call": live},
            # Malformed: kept in the log as rejected, with its reason, on the answered call's page.
            event("bye", 70, answered, hangup={"initiator": "sideways", "ended_at": _at(70)}),
        ]
    )
    ids = [answered["call_id"], busy["call_id"], inbound["call_id"], agent["call_id"], live["call_id"]]
    return TenantCalls(tenant_id, ids[0], ids[1], ids[2], ids[3], ids[4], ids)


def staff_user(username: str, *tenant_ids: int):
    user = get_user_model().objects.create_user(username, password=PASSWORD, is_staff=True)
    for tenant_id in tenant_ids:
        TenantMembership.objects.create(user=user, tenant_id=tenant_id)
    return user


def two_tenants() -> tuple[TenantCalls, TenantCalls]:
    a = tenant_calls(TENANT_A, "alpha", remote="203.0.113.5")
    b = tenant_calls(TENANT_B, "zulu", remote="198.51.100.77")
    Tenant.objects.filter(id=TENANT_A).update(name="Alpha Telecom", time_zone="Europe/Paris")
    Tenant.objects.filter(id=TENANT_B).update(name="Zulu Secretcorp", time_zone="America/New_York")
    add_recording(TENANT_A, a.answered)
    add_recording(TENANT_B, b.answered)
    return a, b


def wav_bytes(seconds: float = 2.0, rate: int = 8000) -> bytes:
    """A stereo 16-bit WAV: a 440 Hz tone on the caller channel, 660 Hz on the agent channel."""
    frames = bytearray()
    for i in range(int(seconds * rate)):
        left = int(8000 * math.sin(2 * math.pi * 440 * i / rate))
        right = int(8000 * math.sin(2 * math.pi * 660 * i / rate))
        frames += struct.pack("<hh", left, right)
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return out.getvalue()


def add_recording(tenant_id: int, call_id: str, seconds: float = 2.0):
    """A stored WAV for the call, recorded through the recordings service (ready to play)."""
    blob = wav_bytes(seconds)
    key = f"test/{tenant_id}/{call_id}.wav"
    storages["recordings"].save(key, ContentFile(blob))
    recording, _ = recording_store(
        tenant_id=tenant_id,
        call_id=call_id,
        fmt="stereo_pcm",
        codec="pcm",
        sample_rate=8000,
        channels=2,
        size=len(blob),
        sha256=hashlib.sha256(blob).hexdigest(),
        storage_key=key,
        duration_ms=int(seconds * 1000),
        wav_ready=True,
    )
    return recording


def transferred_twice(tenant_id: int, prefix: str) -> str:
    """An inbound call (recorded) whose first transfer attempt failed (the agent was busy: 486 Busy
    Here) and whose second one was bridged; the inbound Call-ID."""
    base = T0 + timedelta(hours=2)
    inbound = call(f"{prefix}-queue@gw", tenant_id=tenant_id, scenario="queue", started_at=_at(0, base))
    busy = call(
        f"{prefix}-agent1@gw",
        tenant_id=0,
        direction="outbound",
        correlation_id=inbound["call_id"],
        scenario="transfer_agent",
        started_at=_at(20, base),
    )
    agent = call(
        f"{prefix}-agent2@gw",
        tenant_id=0,
        direction="outbound",
        correlation_id=inbound["call_id"],
        scenario="transfer_agent",
        started_at=_at(30, base),
    )

    def at(seconds: float) -> float:  # the factories count from T0
        return (base - T0).total_seconds() + seconds

    events_ingest(
        events=[
            event("ringing", at(1.8), inbound),
            event("established", at(4), inbound),
            event("transfer_started", at(19), inbound, target_uri=f"sip:alice@{prefix}.pbx"),
            event("ringing", at(20.5), busy),
            failed(at(22), at(22), busy, sip_code=486, reason="Busy Here", initiator="remote"),
            event("transfer_started", at(29), inbound, target_uri=f"sip:bob@{prefix}.pbx"),
            event("ringing", at(30.4), agent),
            event("established", at(33), agent),
            {
                "type": "bridge_started",
                "observed_at": _at(33.2, base),
                "inbound_call_id": inbound["call_id"],
                "outbound_call_id": agent["call_id"],
            },
            bye(at(215), at(215), agent, initiator="remote", sip_code=200),
            bye(at(215.4), at(215.4), inbound, initiator="local", sip_code=200),
        ]
    )
    add_recording(tenant_id, inbound["call_id"], seconds=3.0)
    return inbound["call_id"]
