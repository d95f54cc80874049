"""Runner: every step delivered as generated, from several threads, reordered, recordings wired."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdr.hooks import LifecycleSink, NopLifecycle, RecordingSink
from cdr.simulator import (
    Kind,
    Method,
    SimCall,
    Step,
    expected_by_call_id,
    generate,
    perturbed_order,
    plan,
    run,
)

from .fakes import RecordingFake, fold

LIFECYCLE = {m.value for m in Method}


@pytest.fixture(scope="module")
def calls() -> list[SimCall]:
    return generate(1000, seed=11)


def generated(calls: list[SimCall]) -> Counter[tuple[str, Any]]:
    return Counter((s.method.value, s.args) for c in calls for s in c.steps)


def test_fake_implements_our_interfaces() -> None:
    fake = RecordingFake()
    assert isinstance(fake, LifecycleSink) and isinstance(fake, RecordingSink)


def test_every_step_delivered_exactly_as_often_as_generated(
    calls: list[SimCall],
) -> None:
    fake = RecordingFake()
    stats = run(calls, fake, threads=4)
    delivered = Counter((i.method, i.args) for i in fake.log if i.method != "set_labels")
    assert delivered == generated(calls)
    assert len({i.thread for i in fake.log}) == 4
    # Each leg labelled once, before its first hook, with the labels its expected record holds.
    labelled = [i.args for i in fake.log if i.method == "set_labels"]
    assert sorted(leg for leg, _ in labelled) == sorted(e.call_id for c in calls for e in c.all_expected)
    assert dict(labelled) == {e.call_id: e.labels for c in calls for e in c.all_expected}
    first_hook: dict[str, int] = {}
    for n, i in enumerate(fake.log):
        if i.method in LIFECYCLE - {"on_bridge_started"}:
            first_hook.setdefault(i.args[0].call_id, n)
    position = {i.args[0]: n for n, i in enumerate(fake.log) if i.method == "set_labels"}
    assert all(position[leg] < n for leg, n in first_hook.items())
    assert stats.calls == len(calls) and not stats.errors
    assert stats.invocations == Counter(s.method.value for c in calls for s in c.steps)


def test_received_events_fold_to_the_expected_records(calls: list[SimCall]) -> None:
    """The oracle is consistent: the store's rules over what was delivered give ``expected``."""
    fake = RecordingFake()
    run(calls, fake, fake, threads=4, shuffle_window=2.0, seed=5)
    assert fold(fake.log) == expected_by_call_id(calls)


def test_out_of_order_delivery_happens_and_stays_local(calls: list[SimCall]) -> None:
    schedule = plan(calls, threads=4, shuffle_window=1.5, seed=1)
    moved = 0
    for ci, call in enumerate(calls):
        order = schedule.order_of(ci)
        assert sorted(order) == list(range(len(call.steps)))
        moved += order != sorted(order)
        fixed = [i for i in order if not call.steps[i].floating]
        assert fixed == sorted(fixed)
    assert moved > len(calls) // 10
    crossing = [i for i, c in enumerate(calls) if "crossing_byes" in c.tags]
    swapped = 0
    for ci in crossing:
        byes = [s for s in schedule.order_of(ci) if calls[ci].steps[s].method is Method.BYE]
        swapped += byes != sorted(byes)
    assert swapped > 0
    still = plan(calls, shuffle_window=0)
    assert all(still.order_of(i) == list(range(len(c.steps))) for i, c in enumerate(calls))


def test_a_bye_overtakes_a_late_reinvite_in_delivery(calls: list[SimCall]) -> None:
    fake = RecordingFake()
    run(calls, fake, threads=2, shuffle_window=1.5, seed=2)
    reinvited = {c.call_id for c in calls if "reinvite" in c.tags}
    seen_bye: set[str] = set()
    late = 0
    for inv in fake.log:
        cid = inv.args[0].call_id if inv.method in LIFECYCLE - {"on_bridge_started"} else None
        if cid in reinvited and inv.method == "on_bye":
            seen_bye.add(cid)
        elif cid in seen_bye and inv.method == "on_established":
            late += 1
    assert late > 0


@given(
    st.lists(st.booleans(), max_size=30),
    st.floats(min_value=0, max_value=3),
    st.integers(min_value=0, max_value=2**32),
)
def test_perturbed_order_is_a_bounded_permutation(floating: list[bool], window: float, seed: int) -> None:
    import random

    steps = [Step(Method.RINGING, (), float(i), "x", f) for i, f in enumerate(floating)]
    order = perturbed_order(steps, random.Random(seed), window)
    assert sorted(order) == list(range(len(steps)))
    for pos, i in enumerate(order):
        assert abs(pos - i) <= 2 * window + 1
    fixed = [i for i in order if not floating[i]]
    assert fixed == sorted(fixed)


def test_rate_is_applied_by_the_schedule() -> None:
    calls = generate(300, seed=4)
    schedule = plan(calls, threads=3, rate=200.0)
    first_due: dict[int, float] = {}
    for worker in schedule.workers:
        dues = [d.due for d in worker]
        assert dues == sorted(dues)
        for d in worker:
            first_due.setdefault(d.call, d.due)
    assert first_due == {i: pytest.approx(i / 200.0) for i in range(300)}
    assert max(d.due for w in schedule.workers for d in w) == pytest.approx(299 / 200.0)
    assert all(d.due == 0.0 for w in plan(calls).workers for d in w)  # fast: no waiting


def test_realtime_schedule_honours_offsets() -> None:
    calls = generate(50, seed=9)
    schedule = plan(calls, threads=2, rate=10.0, realtime=True)
    for worker in schedule.workers:
        last: dict[int, float] = {}
        for d in worker:
            assert d.due >= d.call / 10.0 + calls[d.call].steps[d.step].offset - 1e-9
            assert d.due >= last.get(d.call, 0.0)
            last[d.call] = d.due


def test_rate_and_realtime_runs_complete_and_are_not_faster_than_scheduled() -> None:
    calls = generate(20, seed=6, time_scale=0.0005)
    stats = run(calls, NopLifecycle(), rate=2000.0, realtime=True, threads=3)
    assert stats.total == sum(len(c.steps) for c in calls)
    assert stats.elapsed >= max(i / 2000.0 + c.span for i, c in enumerate(calls)) * 0.99


def test_recording_hooks_and_payload_factory(calls: list[SimCall]) -> None:
    fake = RecordingFake()
    payload = {c.call_id: f"SN3-{c.index}".encode() for c in calls}
    run(calls, fake, fake, recording_factory=lambda c: payload[c.call_id], pcm_frames=4)
    answered = {c.call_id for c in calls if any(s.recording == "begin" for s in c.steps)}
    methods: dict[str, list[str]] = {}
    for inv in fake.log:
        if inv.method in ("begin_recording", "finish_recording", "append_pcm"):
            cid = inv.args[0] if inv.method == "append_pcm" else inv.args[0].call_id
            methods.setdefault(cid, []).append(inv.method)
        if inv.method == "finish_recording":
            assert inv.args[0].payload == payload[inv.args[0].call_id]
            assert inv.args[0].channels == 1 and inv.args[0].format == "sn3"
        if inv.method == "begin_recording":
            assert inv.args[1] in (8000, 16000, 48000) and inv.args[2] == inv.args[0].codec
    assert set(methods) == answered
    assert all(m == ["begin_recording"] + ["append_pcm"] * 4 + ["finish_recording"] for m in methods.values())
    carrying = [i for i in fake.log if i.method == "on_bye" and i.args[2].payload]
    assert sorted(i.args[0].call_id for i in carrying) == sorted(answered)


def test_no_pcm_when_begin_declines_and_no_recording_sink() -> None:
    calls = generate(100, seed=8)
    fake = RecordingFake(begin_returns=False)
    stats = run(calls, fake, fake, pcm_frames=3)
    assert stats.invocations["append_pcm"] == 0 and stats.invocations["finish_recording"] > 0
    alone = RecordingFake()
    stats = run(calls, alone)
    assert "begin_recording" not in stats.invocations
    assert {i.method for i in alone.log} <= LIFECYCLE | {"set_labels"}


class RejectingSink(RecordingFake):
    """Rejects invalid directions by raising, as a strict store might."""

    def on_established(self, meta: Any) -> None:
        if meta.direction not in ("inbound", "outbound"):
            raise ValueError(meta.direction)
        super().on_established(meta)


def test_sink_errors_are_counted_not_fatal(calls: list[SimCall]) -> None:
    stats = run(calls, RejectingSink())
    invalid = sum(c.kind is Kind.INBOUND_INVALID_REINVITE for c in calls)
    assert stats.errors == Counter({"on_established": invalid})
    assert isinstance(stats.first_errors[0], ValueError)


def test_no_sleeping_without_rate_or_realtime() -> None:
    # Speed itself is measured in bench/ingest.py; here only that no delay is scheduled.
    stats = run(generate(300, seed=12), NopLifecycle(), threads=4)
    assert stats.total == sum(len(c.steps) for c in generate(300, seed=12))
    assert all(d.due == 0 for w in plan(generate(300, seed=12)).workers for d in w)


def test_artifact_of_non_carrying_byes_stays_empty(calls: list[SimCall]) -> None:
    fake = RecordingFake()
    run(calls[:200], fake, recording_factory=lambda c: b"SN3x")
    for inv in fake.log:
        if inv.method == "on_bye" and inv.args[2].payload:
            assert inv.args[2] == replace(inv.args[2], payload=b"SN3x")
            assert inv.args[0].scenario != "transfer_agent"


def test_a_broken_recording_factory_fails_the_run_instead_of_losing_a_thread() -> None:
    def broken(call: SimCall) -> bytes:
        raise RuntimeError("writer bug")

    with pytest.raises(RuntimeError, match="writer bug"):
        run(generate(20, seed=1), NopLifecycle(), recording_factory=broken)
