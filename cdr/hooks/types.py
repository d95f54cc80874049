"""Value types of the Go ``hooks`` package, as frozen keyword dataclasses and enums.

Go zero values map to Python defaults: ``""``, ``0``, ``b""``, ``timedelta(0)`` and ``None`` for a
zero ``time.Time``. Enum-typed fields also accept a plain string, because the gateway does send
values outside the Go constants (``inbound_reinvite``); the sinks validate, the types only carry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum


class Direction(StrEnum):
    """Mirrors hooks.Direction: classifies a SIP media leg."""

    INBOUND = "inbound"  # hooks.DirectionInbound
    OUTBOUND = "outbound"  # hooks.DirectionOutbound


class HangupInitiator(StrEnum):
    """Mirrors hooks.HangupInitiator: who ended the dialog."""

    LOCAL = "local"  # hooks.HangupLocal
    REMOTE = "remote"  # hooks.HangupRemote
    UNKNOWN = "unknown"  # hooks.HangupUnknown


class RecordingFormat(StrEnum):
    """Mirrors hooks.RecordingFormat: in-memory capture encodings produced by the SIP stack."""

    SN3 = "sn3"  # hooks.FormatSN3: session-layer RTP blob
    STEREO_PCM = "stereo_pcm"  # hooks.FormatStereoPCM: live stereo PCM from the taps


class RecordingChannel(IntEnum):
    """Mirrors hooks.RecordingChannel: caller vs agent/AI halves of the PCM taps."""

    CALLER = 0  # hooks.ChannelCaller
    AGENT = 1  # hooks.ChannelAgent


@dataclass(frozen=True, kw_only=True, slots=True)
class CallMeta:
    """Mirrors hooks.CallMeta: the minimal call context passed to lifecycle sinks."""

    call_id: str = ""  # CallID
    correlation_id: str = ""  # CorrelationID: inbound Call-ID for outbound transfer legs
    direction: Direction | str = ""  # Direction
    scenario: str = ""  # Scenario, e.g. "transfer_agent"; empty for inbound
    tenant_id: int = 0  # TenantID (Go uint); 0 = the gateway could not resolve it
    remote_addr: str = ""  # RemoteAddr
    local_ip: str = ""  # LocalIP
    codec: str = ""  # Codec, lowercase: pcma, pcmu, g722, opus
    started_at: datetime | None = None  # StartedAt, timezone-aware


@dataclass(frozen=True, kw_only=True, slots=True)
class HangupMeta:
    """Mirrors hooks.HangupMeta: accompanies OnBye / OnFailed."""

    initiator: HangupInitiator | str = HangupInitiator.UNKNOWN  # Initiator
    sip_code: int = 0  # SIPCode: final SIP status when known (0 if N/A)
    reason: str = ""  # Reason: SIP phrase or internal reason
    duration: timedelta = timedelta(0)  # Duration: often zero, never trusted as a real duration
    ended_at: datetime | None = None  # EndedAt, timezone-aware


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordingArtifact:
    """Mirrors hooks.RecordingArtifact: what the SIP stack hands off at hangup."""

    call_id: str = ""  # CallID
    format: RecordingFormat | str = RecordingFormat.SN3  # Format
    payload: bytes = b""  # Payload: SN3 blob or app-defined PCM container
    codec: str = ""  # Codec
    sample_rate: int = 0  # SampleRate
    channels: int = 0  # Channels: 1 mono taps, 2 when stereo PCM was merged


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordingResult:
    """Mirrors hooks.RecordingResult: an opaque durable handle returned by a RecordingSink."""

    url: str = ""  # URL
    object_key: str = ""  # ObjectKey
    bytes: int = 0  # Bytes (Go int64)
