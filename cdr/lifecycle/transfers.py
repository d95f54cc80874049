"""Transfers of one inbound call: attempts (OnTransferStarted), agent legs, bridges. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from cdr.lifecycle.events import Event

TRANSFER_AGENT = "transfer_agent"


@dataclass(frozen=True, slots=True)
class Leg:
    """What the transfer fold needs of an agent leg (an outbound Call)."""

    call_id: str
    started_at: datetime
    status: str
    established: bool


@dataclass(frozen=True, slots=True)
class TransferRecord:
    attempt: int
    target_uri: str
    attempted_at: datetime | None
    outbound_call_id: str
    bridged_at: datetime | None
    outcome: str  # pending | answered | bridged | failed


def _outcome(leg: Leg | None, bridged_at: datetime | None) -> str:
    if bridged_at is not None:
        return "bridged"
    if leg is None or leg.status == "ringing":
        return "pending"
    if leg.established:
        return "answered"
    return "pending" if leg.status == "established" else "failed"


def derive_transfers(events: Iterable[Event], legs: Iterable[Leg]) -> list[TransferRecord]:
    """Pair the k-th attempt (by first observation) with the k-th agent leg (by start time).

    The gateway gives no id linking an attempt to its leg; attempts are sequential (the next
    queue target is dialled after the previous one failed), so order is the link. A bridge names
    its agent leg, unless a border controller rewrote the Call-ID: then it goes to the last
    attempt not yet bridged.
    """
    attempts: dict[tuple[Any, ...], tuple[datetime, str]] = {}
    bridges: dict[str, datetime] = {}
    for e in sorted(events, key=lambda e: (e.observed_at, e.fingerprint)):
        if e.type == "transfer_started":
            # An attempt is its content without the labels: the same attempt posted again with
            # labels added (a distinct event, for the labels' fold) is not a second attempt.
            attempts.setdefault((e.observed_at, e.target_uri, e.call), (e.observed_at, e.target_uri))
        elif e.type == "bridge_started":
            bridges.setdefault(e.outbound_call_id, e.observed_at)
    return transfers_pair(sorted(attempts.values()), bridges, legs)


def transfers_pair(
    attempts: Iterable[tuple[datetime, str]], bridges: Mapping[str, datetime], legs: Iterable[Leg]
) -> list[TransferRecord]:
    """``derive_transfers`` from the attempts (moment, target) in order and each bridge's first moment."""
    unpaired = dict(bridges)
    ordered = [(target, at) for at, target in attempts]
    leg_list = sorted(legs, key=lambda leg: (leg.started_at, leg.call_id))
    records: list[TransferRecord] = []
    for i in range(max(len(ordered), len(leg_list))):
        target, attempted_at = ordered[i] if i < len(ordered) else ("", None)
        leg = leg_list[i] if i < len(leg_list) else None
        bridged_at = unpaired.pop(leg.call_id, None) if leg else None
        records.append(
            TransferRecord(
                attempt=i + 1,
                target_uri=target,
                attempted_at=attempted_at,
                outbound_call_id=leg.call_id if leg else "",
                bridged_at=bridged_at,
                outcome=_outcome(leg, bridged_at),
            )
        )
    for outbound_id, bridged_at in sorted(unpaired.items(), key=lambda kv: (kv[1], kv[0])):
        free = [i for i, r in enumerate(records) if r.bridged_at is None]
        if free:
            i = free[-1]
            r = records[i]
            records[i] = replace(
                r,
                bridged_at=bridged_at,
                outbound_call_id=r.outbound_call_id or outbound_id,
                outcome="bridged",
            )
        else:
            records.append(TransferRecord(len(records) + 1, "", None, outbound_id, bridged_at, "bridged"))
    return records
