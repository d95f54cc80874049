"""What each field of the API's answers means, with its unit: the OpenAPI schema's descriptions.

Serializers take their fields' ``help_text`` from here (``Described``), so /api/schema/, Redoc at
/api/docs/ and the plain page describe every field; a test fails on a response field without one.
Times are RFC 3339 in UTC (``...Z``); durations are integers in milliseconds.
"""

from __future__ import annotations

from typing import Any, ClassVar

_TIME = "RFC 3339, UTC."

CALL = {
    "call_id": "The leg's SIP Call-ID, unique in the store.",
    "correlation_id": "Groups the legs of one conversation: an agent leg carries its inbound leg's Call-ID.",
    "tenant_id": "The tenant the call belongs to (unsigned 64-bit; 0: not yet resolved).",
    "direction": "inbound (the gateway answered) or outbound (the gateway dialled).",
    "scenario": "The gateway's label for the call flow (e.g. ivr, transfer_agent); empty when not given.",
    "status": "ringing or established while live; completed (BYE), failed (never answered) or expired "
    "(no end reported within the sweeper's timeout).",
    "remote_addr": "The far end's signalling address as the gateway reported it (personal data).",
    "local_ip": "The gateway's own media address.",
    "codec": "The negotiated audio codec (e.g. PCMU, PCMA, G722, opus).",
    "started_at": "When the gateway saw the call begin (INVITE sent or received). " + _TIME,
    "ringing_at": "First ringing (180/183), or null. " + _TIME,
    "established_at": "When the call was answered (200 OK), or null if never. " + _TIME,
    "ended_at": "When the call ended (BYE or failure), or null while live. " + _TIME,
    "duration_ms": "Milliseconds from started_at to ended_at; null while live.",
    "billable_ms": "Talk time in milliseconds, established_at to ended_at; 0 for a call never answered.",
    "pdd_ms": "Post-dial delay in milliseconds, started_at to ringing_at; null without ringing.",
    "hangup_initiator": "Who hung up: local (the gateway), remote (the far end) or unknown; empty while live.",
    "sip_code": "The final SIP status code (e.g. 200, 486, 487); null when none was reported.",
    "hangup_reason": "The gateway's reason text for the end of the call.",
    "transferred": "True when the call has at least one transfer attempt.",
    "has_recording": "True when a recording was stored for the call (it may since have been deleted by "
    "retention: see recording_summary).",
    "updated_at": "When the store last changed this record; the change feed (order=updated) follows it. " + _TIME,
    "recording_summary": "The call's recordings, counted.",
    "labels": "The call's labels (string keys and values, e.g. from, to, did, campaign); {} when none.",
    "hangup": "How the call ended, as the gateway reported it; null while live.",
    "transfers": "The call's transfer attempts, in order.",
    "events": "The call's event log, oldest first, rejected events included.",
    "recordings": "The call's recordings.",
}

HANGUP = {
    "kind": "bye (a BYE ended an established call), failed (never established) or expired (closed by the "
    "sweeper: no end was reported in time).",
    "initiator": "Who ended the call: local, remote or unknown.",
    "sip_code": "The SIP status code reported with the end; null when none.",
    "reason": "The gateway's reason text.",
    "reported_duration_ms": "The duration the gateway reported, in milliseconds (the record's duration_ms "
    "is computed from the times instead).",
    "ended_at": "When the call ended. " + _TIME,
}

TRANSFER = {
    "attempt": "The attempt's number within the call, from 1.",
    "target": "The URI the call was transferred to.",
    "attempted_at": "When the transfer started. " + _TIME,
    "outbound_call_id": "Call-ID of the agent leg dialled for this attempt; empty until one is reported.",
    "outcome": "pending (dialling), answered (agent leg established), bridged (media bridged) or failed.",
    "bridged_at": "When the legs were bridged, or null. " + _TIME,
}

EVENT = {
    "type": "The lifecycle event: ringing, established, transfer_started, bridge_started, bye or failed.",
    "status": "accepted (counted in the record) or rejected (kept for audit, with a reason).",
    "reason": "Why the event was rejected; empty when accepted.",
    "observed_at": "When the hook fired at the gateway. " + _TIME,
}

RECORDING = {
    "id": "The recording's id (the media link's {id}).",
    "format": "The original's format: sn3 (RTP capture), stereo_pcm, or taps (built from live PCM taps).",
    "codec": "The audio codec of the original (e.g. PCMU); empty for PCM.",
    "sample_rate": "Samples per second of the audio (Hz).",
    "channels": "Audio channels (2: caller left, callee right).",
    "duration_ms": "Length of the audio in milliseconds; null until known.",
    "bytes": "Size of the original in bytes.",
    "wav_status": "pending, ready or failed: the playable WAV's state.",
    "created_at": "When the recording was stored. " + _TIME,
    "deleted_at": "When retention deleted the audio (the metadata stays), or null. " + _TIME,
}


class Described:
    """A serializer mixin: each field without a ``help_text`` takes ``field_docs[name]``."""

    field_docs: ClassVar[dict[str, str]] = {}

    def get_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = super().get_fields()  # type: ignore[misc]
        for name, field in fields.items():
            if not getattr(field, "help_text", None) and name in self.field_docs:
                field.help_text = self.field_docs[name]
        return fields
