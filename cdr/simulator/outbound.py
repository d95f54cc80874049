"""Outbound traffic: campaign legs and inbound calls transferred to human agents.

Outbound legs get no ringing (event-semantics.md); agent legs are outbound ``transfer_agent``
legs correlated to the inbound Call-ID, usually with tenant 0 because the gateway cannot
resolve it: the store must find it through the inbound leg.
"""

from __future__ import annotations

from datetime import datetime

from cdr.hooks import CallMeta, Direction, HangupInitiator
from cdr.simulator.builder import CallBuilder
from cdr.simulator.model import ExpectedTransfer, Kind, Mix, SimCall
from cdr.simulator.values import ByeReason, Values

CAMPAIGN_FAILURES = (
    ByeReason(HangupInitiator.REMOTE, 486, "Busy Here"),
    ByeReason(HangupInitiator.REMOTE, 480, "Temporarily Unavailable"),
    ByeReason(HangupInitiator.LOCAL, 408, "Request Timeout"),
)
NON_200 = ByeReason(HangupInitiator.UNKNOWN, 0, "non_200")
NO_ANSWER = ByeReason(HangupInitiator.REMOTE, 480, "Temporarily Unavailable")
MAX_TRANSFER_ATTEMPTS = 3


def campaign(v: Values, mix: Mix, index: int, started_at: datetime) -> SimCall:
    """A campaign dial: established then bye, or failed with the response phrase / non_200."""
    meta = CallMeta(
        call_id=v.call_id(),
        correlation_id=v.campaign_correlation(),
        direction=Direction.OUTBOUND,
        scenario="campaign",
        tenant_id=v.tenant(),
        remote_addr=v.remote_addr(),
        local_ip=v.local_ip(),
        codec=v.codec(),
        started_at=started_at,
    )
    b = CallBuilder(v, index, Kind.CAMPAIGN, meta)
    if v.chance(mix.p_campaign_answered):
        est = v.seconds(3, 30)
        b.established(meta, est)
        b.bye(meta, est + v.talk_time(), v.bye(local=v.chance(0.5)), since=est)
    elif v.chance(mix.p_non_200):
        b.tags.add("non_200")
        b.failed(meta, v.seconds(2, 40), NON_200, floating=True)
    else:
        b.failed(meta, v.seconds(2, 40), v.rng.choice(CAMPAIGN_FAILURES), floating=True)
    return b.build()


def transfer(v: Values, mix: Mix, index: int, started_at: datetime) -> SimCall:
    """An answered inbound call handed to a queue of agents; each no-answer tries the next."""
    inbound = CallMeta(
        call_id=v.call_id(),
        direction=Direction.INBOUND,
        tenant_id=v.tenant(),
        remote_addr=v.remote_addr(),
        local_ip=v.local_ip(),
        codec=v.codec(),
        started_at=started_at,
    )
    b = CallBuilder(v, index, Kind.TRANSFER, inbound)
    ring = v.seconds(1.0, 4.0)  # the AI agent's number: a short post-dial delay
    b.ringing(inbound, ring)
    est = ring + v.seconds(0.5, 6)
    b.established(inbound, est)
    t = est + v.seconds(10, 120)  # AI conversation before the transfer
    agents = v.rng.sample(range(1, 61), MAX_TRANSFER_ATTEMPTS)
    for attempt, agent in enumerate(agents, start=1):
        target = f"sip:agent-{agent}@pbx.example"
        t = b.transfer_started(t, target)
        start = b.clamp(t + v.seconds(0.01, 0.2))
        leg = CallMeta(
            call_id=v.call_id(),
            correlation_id=inbound.call_id,
            direction=Direction.OUTBOUND,
            scenario="transfer_agent",
            tenant_id=0 if v.chance(mix.p_agent_tenant_zero) else inbound.tenant_id,
            remote_addr=v.remote_addr(),
            local_ip=inbound.local_ip,
            codec=inbound.codec,
            started_at=b.at(start),
        )
        b.add_leg(leg)
        if attempt > 1:
            b.tags.add("multi_attempt")
        if v.chance(mix.p_agent_no_answer):
            t = start + v.seconds(10, 25)
            b.failed(leg, t, NO_ANSWER, floating=True)
            b.transfers.append(ExpectedTransfer(target, leg.call_id, False))
            t += v.seconds(0.5, 3)
            continue
        _bridge_and_hang_up(v, b, leg, start)
        b.transfers.append(ExpectedTransfer(target, leg.call_id, True))
        return b.build()
    # Every agent failed: the gateway gives up, or the caller hung up while waiting.
    b.tags.add("unbridged")
    b.bye(inbound, t, v.bye(local=v.chance(0.5)), since=est)
    return b.build()


def _bridge_and_hang_up(v: Values, b: CallBuilder, leg: CallMeta, start: float) -> None:
    """Agent answers, media bridges, then one side hangs up and the gateway tears down the other."""
    b.tags.add("bridged")
    est = start + v.seconds(3, 15)
    b.established(leg, est, floating=True)
    b.bridge_started(est + v.seconds(0.02, 0.2), leg.call_id)
    end = est + v.talk_time()
    other = end + v.seconds(0.01, 0.3)
    inbound = b.meta
    inbound_est = next(s.offset for s in b.steps if s.recording == "begin")
    if v.chance(0.6):  # the caller hangs up first
        b.bye(inbound, end, v.bye(local=False), since=inbound_est)
        b.bye(leg, other, v.bye(local=True), since=est)
    else:
        b.bye(leg, end, v.bye(local=False), since=est)
        b.bye(inbound, other, v.bye(local=True), since=inbound_est)
