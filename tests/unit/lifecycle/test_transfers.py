from datetime import timedelta

from cdr.lifecycle.events import parse_event
from cdr.lifecycle.transfers import Leg, derive_transfers
from tests.support.factories import T0, event


def attempt(at_s, target):
    return parse_event(event("transfer_started", at_s, target_uri=target), received_at=T0)


def bridge(at_s, outbound):
    raw = {
        "type": "bridge_started",
        "observed_at": (T0 + timedelta(seconds=at_s)).isoformat(),
        "inbound_call_id": "c1@gw",
        "outbound_call_id": outbound,
    }
    return parse_event(raw, received_at=T0)


def leg(call_id, at_s, status="completed", established=True):
    return Leg(call_id, T0 + timedelta(seconds=at_s), status, established)


def summary(records):
    return [(r.attempt, r.target_uri, r.outbound_call_id, r.outcome) for r in records]


def test_the_same_target_dialled_twice_is_two_attempts_and_a_redelivery_is_one():
    events = [attempt(10, "sip:a@pbx"), attempt(40, "sip:a@pbx"), attempt(40, "sip:a@pbx"), bridge(45, "l2")]
    legs = [leg("l1", 10.5, "failed", established=False), leg("l2", 40.5)]
    assert summary(derive_transfers(events, legs)) == [
        (1, "sip:a@pbx", "l1", "failed"),
        (2, "sip:a@pbx", "l2", "bridged"),
    ]


def test_order_of_arrival_does_not_matter():
    events = [attempt(10, "sip:a@pbx"), attempt(40, "sip:b@pbx"), bridge(45, "l2")]
    legs = [leg("l1", 10.5, "failed", established=False), leg("l2", 40.5)]
    assert derive_transfers(events, legs) == derive_transfers(events[::-1], legs[::-1])


def test_a_bridge_to_a_rewritten_call_id_goes_to_the_last_unbridged_attempt():
    records = derive_transfers([attempt(10, "sip:a@pbx"), bridge(12, "rewritten@sbc")], [])
    assert summary(records) == [(1, "sip:a@pbx", "rewritten@sbc", "bridged")]


def test_pending_answered_and_legs_without_an_attempt_event():
    records = derive_transfers(
        [attempt(10, "sip:a@pbx")], [leg("l1", 11, "established"), leg("l2", 20, "ringing", False)]
    )
    assert summary(records) == [(1, "sip:a@pbx", "l1", "answered"), (2, "", "l2", "pending")]
    assert summary(derive_transfers([attempt(10, "sip:a@pbx")], [])) == [(1, "sip:a@pbx", "", "pending")]
