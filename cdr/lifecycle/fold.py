"""The fold: the distinct events of a call -> its record. Pure and order-free.

Every choice below is made on the *set* of events (sorted by a total order, the earliest
observation first and the content fingerprint as tie-break), never on arrival order, so any
permutation or repetition of the same events yields the same record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cdr.lifecycle.events import END_TYPES, Event
from cdr.lifecycle.labels import labels_merge

_MS = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class HangupRecord:
    kind: str  # bye | failed | expired
    initiator: str
    sip_code: int | None
    reason: str
    reported_duration_ms: int | None
    ended_at: datetime


@dataclass(frozen=True, slots=True)
class CallRecord:
    call_id: str
    correlation_id: str
    tenant_id: int
    direction: str
    scenario: str
    status: str
    remote_addr: str
    local_ip: str
    codec: str
    started_at: datetime
    ringing_at: datetime | None
    established_at: datetime | None
    ended_at: datetime | None
    duration_ms: int | None
    billable_ms: int | None
    pdd_ms: int | None
    hangup_initiator: str
    sip_code: int | None
    hangup_reason: str
    hangup: HangupRecord | None
    labels: dict[str, str]  # cdr.lifecycle.labels.labels_merge of the events' call.labels


def _order(e: Event) -> tuple[datetime, str]:
    return (e.observed_at, e.fingerprint)


def _ms(later: datetime | None, earlier: datetime | None) -> int | None:
    if later is None or earlier is None:
        return None
    return max(0, (later - earlier) // _MS)


def _end_time(e: Event) -> datetime:
    assert e.hangup is not None
    return e.hangup.ended_at or e.observed_at


def deciding_end(events: Iterable[Event]) -> Event | None:
    """The earliest BYE/failure by ended_at; the sweeper's expiry only when no real end exists."""
    ends = [e for e in events if e.type in END_TYPES]
    real = [e for e in ends if e.type != "expired"] or ends
    return min(real, key=lambda e: (_end_time(e), e.fingerprint), default=None)


def _labels(mine: list[Event]) -> dict[str, str]:
    # A repeat counts at its first sighting (as the log stores it), whatever is passed here.
    first: dict[str, Event] = {}
    for e in mine:  # sorted by _order: the earliest sighting first
        if e.labels:
            first.setdefault(e.fingerprint, e)
    return labels_merge((e.observed_at, e.labels) for e in first.values())


def derive_call(call_id: str, events: Iterable[Event], inherited_tenant: int = 0) -> CallRecord | None:
    """The record of ``call_id`` from its accepted events; None if no event describes the call or
    gives its start."""
    mine = sorted((e for e in events if e.call_id == call_id), key=_order)
    metas = [e.call for e in mine if e.call is not None and e.call.call_id == call_id]
    if not metas:
        return None

    def first(attr: str) -> str:
        return next((str(v) for m in metas if (v := getattr(m, attr))), "")

    # Go's zero StartedAt (None) is "not known here": the call's start is the earliest one its
    # other events give. With none yet, no record: the events wait in the log for one.
    starts = [m.started_at for m in metas if m.started_at is not None]
    if not starts:
        return None
    tenant_id = next((m.tenant_id for m in metas if m.tenant_id), 0) or inherited_tenant
    started_at = min(starts)
    ringing_at = min((e.observed_at for e in mine if e.type == "ringing"), default=None)
    established_at = min((e.observed_at for e in mine if e.type == "established"), default=None)
    # Observations use our clock, StartedAt/EndedAt the gateway's: under skew, keep the record
    # consistent (never ringing or answered before it started, nor answered after it ended).
    if ringing_at is not None and ringing_at < started_at:
        ringing_at = started_at
    if established_at is not None and established_at < started_at:
        established_at = started_at
    end = deciding_end(mine)
    hangup = None
    ended_at = None
    if end is not None:
        assert end.hangup is not None
        ended_at = _end_time(end)
        if established_at is not None and established_at > ended_at:
            established_at = ended_at  # a late ACK observed after the BYE it preceded
        reported = end.hangup.duration // _MS if end.hangup.duration else None
        hangup = HangupRecord(
            kind=end.type,
            initiator=str(end.hangup.initiator),
            sip_code=end.hangup.sip_code or None,
            reason=end.hangup.reason,
            reported_duration_ms=reported,
            ended_at=ended_at,
        )
        status = {"bye": "completed", "failed": "failed", "expired": "expired"}[end.type]
    else:
        status = "established" if established_at is not None else "ringing"
    return CallRecord(
        call_id=call_id,
        correlation_id=first("correlation_id"),
        tenant_id=tenant_id,
        direction=first("direction"),
        scenario=first("scenario"),
        status=status,
        remote_addr=first("remote_addr"),
        local_ip=first("local_ip"),
        codec=first("codec"),
        started_at=started_at,
        ringing_at=ringing_at,
        established_at=established_at,
        ended_at=ended_at,
        duration_ms=_ms(ended_at, started_at),
        billable_ms=_ms(ended_at, established_at) if established_at else (0 if ended_at else None),
        pdd_ms=_ms(ringing_at, started_at),
        hangup_initiator=hangup.initiator if hangup else "",
        sip_code=hangup.sip_code if hangup else None,
        hangup_reason=hangup.reason if hangup else "",
        hangup=hangup,
        labels=_labels(mine),
    )
