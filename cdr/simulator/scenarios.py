"""Deterministic generation of gateway traffic: ``generate(n, seed=...)`` -> ``list[SimCall]``.

Each SimCall holds the hook steps the gateway would make (with repeats, crossing byes, missing
end events and invalid directions, as docs/reference/event-semantics.md describes) and the CDR
the store must end up with. Same seed, same arguments -> identical calls, so a failing e2e run
can be replayed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from cdr.hooks import CallMeta, Direction, HangupInitiator
from cdr.simulator.builder import CallBuilder
from cdr.simulator.model import Expected, Kind, Mix, SimCall
from cdr.simulator.outbound import campaign, transfer
from cdr.simulator.values import ByeReason, Values

DEFAULT_BASE_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
INVALID_DIRECTION = "inbound_reinvite"  # what one application reports for a re-INVITE
REJECTIONS = (
    ByeReason(HangupInitiator.LOCAL, 486, "Busy Here"),
    ByeReason(HangupInitiator.LOCAL, 603, "Decline"),
)

Builder = Callable[[Values, Mix, int, datetime], SimCall]


def _inbound_meta(v: Values, started_at: datetime) -> CallMeta:
    return CallMeta(
        call_id=v.call_id(),
        direction=Direction.INBOUND,
        tenant_id=v.tenant(),
        remote_addr=v.remote_addr(),
        local_ip=v.local_ip(),
        codec=v.codec(),
        started_at=started_at,
    )


def _ring(v: Values, mix: Mix, b: CallBuilder) -> float:
    """OnRinging after a post-dial delay of 1-6 s, sometimes again (183 then 180, or a
    retransmitted INVITE); returns the first ringing's offset."""
    ring = v.seconds(1.0, 6.0)
    b.ringing(b.meta, ring)
    if v.chance(mix.p_ringing_repeated):
        b.tags.add("ringing_repeated")
        b.ringing(b.meta, ring + v.seconds(0.05, 1.0))
    return ring


def _answered(v: Values, mix: Mix, index: int, started_at: datetime, *, kind: Kind) -> SimCall:
    b = CallBuilder(v, index, kind, _inbound_meta(v, started_at))
    meta = b.meta
    est = _ring(v, mix, b) + v.seconds(1.5, 15)
    b.established(meta, est)
    talk = v.talk_time()
    end = est + talk
    invalid = kind is Kind.INBOUND_INVALID_REINVITE
    if invalid or v.chance(mix.p_reinvite):
        # Session refresh late in the call; its bye may overtake it (bye runs on a goroutine).
        b.tags.add("invalid_direction" if invalid else "reinvite")
        again = replace(meta, direction=INVALID_DIRECTION) if invalid else meta
        b.established(again, est + talk * v.rng.uniform(0.5, 0.98), floating=True)
    first_local = v.chance(0.35)
    first = v.bye(local=first_local)
    b.bye(meta, end, first, since=est)
    if not invalid and v.chance(mix.p_crossing_byes):
        b.tags.add("crossing_byes")
        second = v.bye(local=not first_local)
        if second.initiator == first.initiator:  # UNKNOWN first: make the second one local
            second = replace(second, initiator=HangupInitiator.LOCAL)
        b.bye(meta, end + v.seconds(0.01, 1.5), second, since=est)
    return b.build()


def inbound_answered(v: Values, mix: Mix, index: int, started_at: datetime) -> SimCall:
    """Ringing (maybe repeated), established, maybe a re-INVITE, bye (maybe two crossing)."""
    return _answered(v, mix, index, started_at, kind=Kind.INBOUND_ANSWERED)


def inbound_invalid_reinvite(v: Values, mix: Mix, index: int, started_at: datetime) -> SimCall:
    """An answered call whose re-INVITE is reported with direction ``inbound_reinvite``."""
    return _answered(v, mix, index, started_at, kind=Kind.INBOUND_INVALID_REINVITE)


def inbound_rejected(v: Values, mix: Mix, index: int, started_at: datetime) -> SimCall:
    """Ringing, then OnFailed 486 Busy Here / 603 Decline."""
    b = CallBuilder(v, index, Kind.INBOUND_REJECTED, _inbound_meta(v, started_at))
    ring = _ring(v, mix, b)
    b.failed(b.meta, ring + v.seconds(1.1, 15), v.rng.choice(REJECTIONS), floating=False)
    return b.build()


def inbound_cancelled(v: Values, mix: Mix, index: int, started_at: datetime) -> SimCall:
    """Cancelled while ringing and the gateway fires no end event at all: stays "ringing"."""
    b = CallBuilder(v, index, Kind.INBOUND_CANCELLED, _inbound_meta(v, started_at))
    _ring(v, mix, b)
    return b.build()


BUILDERS: dict[Kind, Builder] = {
    Kind.INBOUND_ANSWERED: inbound_answered,
    Kind.INBOUND_REJECTED: inbound_rejected,
    Kind.INBOUND_CANCELLED: inbound_cancelled,
    Kind.INBOUND_INVALID_REINVITE: inbound_invalid_reinvite,
    Kind.CAMPAIGN: campaign,
    Kind.TRANSFER: transfer,
}


def generate(
    n: int,
    *,
    seed: int = 0,
    base_time: datetime = DEFAULT_BASE_TIME,
    mix: Mix | None = None,
    time_scale: float = 1.0,
    tenants: int = 20,
    interarrival: float = 0.5,
) -> list[SimCall]:
    """Generate ``n`` calls starting at ``base_time`` (timezone-aware), Poisson arrivals.

    ``interarrival`` is the mean gap between call starts in real seconds; it and every call
    duration are multiplied by ``time_scale`` (e.g. 0.01 for fast demo runs).
    """
    if base_time.tzinfo is None or base_time.utcoffset() is None:
        raise ValueError("base_time must be timezone-aware")
    mix = mix or Mix()
    rng = random.Random(seed)
    v = Values(rng, tenants=tenants, time_scale=time_scale, p_large_tenant=mix.p_large_tenant)
    weights = mix.weights()
    kinds, kind_weights = list(weights), list(weights.values())
    if sum(kind_weights) <= 0:
        raise ValueError("the mix has no positive weight")
    start = base_time.astimezone(UTC)
    calls: list[SimCall] = []
    for index in range(n):
        kind = rng.choices(kinds, weights=kind_weights)[0]
        calls.append(BUILDERS[kind](v, mix, index, start))
        start += timedelta(seconds=rng.expovariate(1 / interarrival) * time_scale)
    return calls


def expected_by_call_id(calls: list[SimCall]) -> dict[str, Expected]:
    """Every leg's expected record keyed by call id (what the e2e tests compare against)."""
    return {exp.call_id: exp for call in calls for exp in call.all_expected}
