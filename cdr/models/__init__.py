"""Models of the cdr app, one module per domain; import them from here."""

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
    Tenant,
    Transfer,
    TransferOutcome,
)

__all__ = [
    "ACTIVE_STATUSES",
    "Call",
    "CallEvent",
    "CallStatus",
    "Direction",
    "EventStatus",
    "Hangup",
    "HangupInitiator",
    "HangupKind",
    "Tenant",
    "Transfer",
    "TransferOutcome",
]
