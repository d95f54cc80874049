"""Models of the cdr app, one module per domain; import them from here."""

from cdr.models.access import TenantMembership
from cdr.models.api import ApiToken
from cdr.models.calls import (
    ACTIVE_STATUSES,
    Call,
    CallEvent,
    CallStatus,
    Direction,
    EventStatus,
    Hangup,
    HangupInitiator,
    HangupKind,
    IngestedBatch,
    Tenant,
    Transfer,
    TransferOutcome,
)
from cdr.models.ingest import Gateway, GatewayEvent
from cdr.models.recordings import (
    AccessPurpose,
    LegalHold,
    Recording,
    RecordingAccess,
    RecordingPolicy,
    WavStatus,
)
from cdr.models.reports import (
    Report,
    ReportDay,
    ReportHour,
    ReportPdd,
    ReportPddDay,
    ReportPddHour,
    ReportPeak,
    ReportShare,
    ReportSlot,
)

__all__ = [
    "ACTIVE_STATUSES",
    "AccessPurpose",
    "ApiToken",
    "Call",
    "CallEvent",
    "CallStatus",
    "Direction",
    "EventStatus",
    "Gateway",
    "GatewayEvent",
    "Hangup",
    "HangupInitiator",
    "HangupKind",
    "IngestedBatch",
    "LegalHold",
    "Recording",
    "RecordingAccess",
    "RecordingPolicy",
    "Report",
    "ReportDay",
    "ReportHour",
    "ReportPdd",
    "ReportPddDay",
    "ReportPddHour",
    "ReportPeak",
    "ReportShare",
    "ReportSlot",
    "Tenant",
    "TenantMembership",
    "Transfer",
    "TransferOutcome",
    "WavStatus",
]
