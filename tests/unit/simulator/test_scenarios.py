"""Generation: deterministic, realistic values, every scenario present, store rules encoded."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from cdr.hooks import CallMeta
from cdr.simulator import (
    Kind,
    Method,
    Mix,
    SimCall,
    Status,
    expected_by_call_id,
    generate,
)
from cdr.simulator.values import LARGE_TENANT

CALL_ID = re.compile(r"^[0-9a-f]{12}4[0-9a-f]{19}@[\w.-]+$")
ADDR = re.compile(r"^\d+\.\d+\.\d+\.\d+:\d+$")
CAMPAIGN = re.compile(r"^camp:\d+:contact:\d+:attempt:\d+$")


@pytest.fixture(scope="module")
def calls() -> list[SimCall]:
    return generate(1000, seed=42)


def metas(call: SimCall) -> list[CallMeta]:
    return [s.args[0] for s in call.steps if isinstance(s.args[0], CallMeta)]


def test_same_seed_same_calls_other_seed_other_calls() -> None:
    assert generate(200, seed=7) == generate(200, seed=7)
    assert generate(50, seed=7) != generate(50, seed=8)


def test_mix_contains_every_scenario_and_quirk(calls: list[SimCall]) -> None:
    kinds = Counter(c.kind for c in calls)
    assert set(kinds) == set(Kind)
    tags = Counter(t for c in calls for t in c.tags)
    for tag in (
        "ringing_repeated",
        "reinvite",
        "crossing_byes",
        "invalid_direction",
        "multi_attempt",
        "bridged",
        "non_200",
    ):
        assert tags[tag] > 0, tag
    assert 0.05 < tags["crossing_byes"] / kinds[Kind.INBOUND_ANSWERED] < 0.16
    assert 0.01 < kinds[Kind.INBOUND_CANCELLED] / len(calls) < 0.06


def test_mix_is_configurable() -> None:
    only = Mix(**{k.value: 0.0 for k in Kind} | {"campaign": 1.0})
    assert {c.kind for c in generate(100, seed=1, mix=only)} == {Kind.CAMPAIGN}
    with pytest.raises(ValueError):
        generate(1, mix=Mix(**{k.value: 0.0 for k in Kind}))


def test_values_look_like_the_gateway(calls: list[SimCall]) -> None:
    for call in calls:
        for m in metas(call):
            assert CALL_ID.match(m.call_id) and ADDR.match(m.remote_addr)
            assert m.codec in {"pcma", "pcmu", "g722", "opus"}
            assert m.started_at is not None and m.started_at.tzinfo is UTC
            assert m.tenant_id == 0 or 1 <= m.tenant_id <= 20 or m.tenant_id == LARGE_TENANT
    codecs = Counter(c.meta.codec for c in calls)
    assert codecs.most_common(1)[0][0] == "pcma"
    assert any(c.meta.tenant_id == LARGE_TENANT for c in calls)
    for c in calls:
        if c.kind is Kind.CAMPAIGN:
            assert CAMPAIGN.match(c.meta.correlation_id) and c.meta.scenario == "campaign"
            assert Method.RINGING not in {s.method for s in c.steps}


def test_timestamps_are_ordered_and_distinct(calls: list[SimCall]) -> None:
    for call in calls:
        offsets = [s.offset for s in call.steps]
        assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
        ends = [s.args[1].ended_at for s in call.steps if s.method in (Method.BYE, Method.FAILED)]
        assert ends == sorted(ends) and len(set(ends)) == len(ends)
    starts = [c.expected.started_at for c in calls]
    assert starts == sorted(starts)


def test_crossing_byes_differ_in_initiator_and_recording(calls: list[SimCall]) -> None:
    crossing = [c for c in calls if "crossing_byes" in c.tags]
    for call in crossing:
        first, second = [s for s in call.steps if s.method is Method.BYE]
        assert first.recording == "finish" and second.recording == ""
        assert second.args[1].initiator != first.args[1].initiator
        assert second.args[1].ended_at > first.args[1].ended_at
        assert second.args[2].payload == b""
        assert call.expected.hangup_initiator == first.args[1].initiator


def test_expected_outcomes_per_kind(calls: list[SimCall]) -> None:
    for c in calls:
        e = c.expected
        if c.kind is Kind.INBOUND_CANCELLED:
            assert e.status is Status.RINGING and e.ended_at is None and not e.established
        elif c.kind is Kind.INBOUND_REJECTED:
            assert e.status is Status.FAILED and e.sip_code in (486, 603)
            assert e.hangup_reason in ("Busy Here", "Decline")
        elif c.kind in (
            Kind.INBOUND_ANSWERED,
            Kind.INBOUND_INVALID_REINVITE,
            Kind.TRANSFER,
        ):
            assert e.status is Status.COMPLETED and e.established
        elif e.status is Status.FAILED:
            assert (e.sip_code, e.hangup_reason) in {
                (486, "Busy Here"),
                (480, "Temporarily Unavailable"),
                (408, "Request Timeout"),
                (None, "non_200"),
            }
        assert e.sip_code != 0


def test_transfers_resolve_tenant_through_the_inbound_leg(calls: list[SimCall]) -> None:
    transfers = [c for c in calls if c.kind is Kind.TRANSFER]
    zero_tenant = 0
    for c in transfers:
        attempts = c.expected.transfers
        assert [a.agent_call_id for a in attempts] == [a.call_id for a in c.agent_legs]
        assert all(a.target_uri.startswith("sip:agent-") for a in attempts)
        assert sum(a.bridged for a in attempts) <= 1 and not any(a.bridged for a in attempts[:-1])
        for leg in c.agent_legs:
            assert leg.tenant_id == c.meta.tenant_id and leg.correlation_id == c.call_id
            assert leg.scenario == "transfer_agent" and leg.direction == "outbound"
        zero_tenant += sum(m.tenant_id == 0 for m in metas(c) if m.scenario == "transfer_agent")
        started = [s for s in c.steps if s.method is Method.TRANSFER_STARTED]
        assert [s.args[1] for s in started] == [a.target_uri for a in attempts]
    assert zero_tenant > 0
    assert len(expected_by_call_id(calls)) == sum(len(c.all_expected) for c in calls)


def test_time_scale_compresses_and_base_time_must_be_aware() -> None:
    slow, fast = generate(100, seed=3), generate(100, seed=3, time_scale=0.01)
    assert max(c.span for c in fast) < max(c.span for c in slow) / 50
    base = datetime(2026, 3, 1, 12, tzinfo=UTC)
    spread = generate(100, seed=3, base_time=base)[-1].meta.started_at
    assert spread is not None and base < spread < base + timedelta(hours=1)
    with pytest.raises(ValueError):
        generate(1, base_time=datetime(2026, 3, 1))


def test_the_simulator_imports_nothing_from_django() -> None:
    import subprocess
    import sys

    code = "import sys, cdr.simulator; print(sorted(m for m in sys.modules if m.startswith('django')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
