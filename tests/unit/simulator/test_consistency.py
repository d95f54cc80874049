"""Every simulated call is internally consistent on one clock, with realistic figures.

Checked on the plan itself (the instants the runner stamps with ``SimClock``): per leg,
started <= first ringing <= first established <= end. PDD 1-6 s, talk in minutes, ASR as a
voice platform sees it.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import UTC, datetime

from cdr.simulator import Method, SimClock, generate, step_time

CALLS = generate(3000, seed=17, base_time=datetime(2026, 11, 3, tzinfo=UTC))


def _legs():
    """call_id -> (started_at, {method: [instants]}) over every step of every call."""
    legs: dict[str, tuple[datetime, dict[Method, list[datetime]]]] = {}
    for call in CALLS:
        for step in call.steps:
            meta = step.args[0] if step.method is not Method.BRIDGE_STARTED else None
            if meta is None:
                continue
            entry = legs.setdefault(meta.call_id, (meta.started_at, defaultdict(list)))
            entry[1][step.method].append(step_time(call, step))
    return legs


LEGS = _legs()


def test_every_leg_rings_after_it_starts_answers_after_it_rings_and_ends_after_it_answers():
    broken = []
    for call_id, (started, at) in LEGS.items():
        ringing = min(at[Method.RINGING], default=None)
        established = min(at[Method.ESTABLISHED], default=None)
        ends = at[Method.BYE] + at[Method.FAILED]
        end = min(ends, default=None)
        if ringing is not None and ringing < started:
            broken.append((call_id, "ringing before start"))
        if established is not None and established < (ringing or started):
            broken.append((call_id, "established before ringing"))
        if end is not None and end < (established or ringing or started):
            broken.append((call_id, "ended before established"))
    assert broken == []
    assert len(LEGS) > 3000


def test_post_dial_delay_is_one_to_six_seconds():
    pdds = [(min(at[Method.RINGING]) - started).total_seconds() for started, at in LEGS.values() if at[Method.RINGING]]
    assert len(pdds) > 2000
    assert 1.0 <= min(pdds) and max(pdds) <= 6.0
    assert 2.5 <= statistics.mean(pdds) <= 4.5


def test_answered_calls_talk_for_minutes_and_most_calls_are_answered():
    talk = []
    attempts = answered = 0
    for _started, at in LEGS.values():
        attempts += 1
        if at[Method.ESTABLISHED]:
            answered += 1
            ends = at[Method.BYE] + at[Method.FAILED]
            if ends:
                talk.append((min(ends) - min(at[Method.ESTABLISHED])).total_seconds())
    assert 30 <= statistics.mean(talk) <= 180
    assert 0.60 <= answered / attempts <= 0.78


def test_the_sim_clock_gives_each_thread_its_own_instant_and_the_wall_clock_otherwise():
    import threading
    import time

    clock = SimClock()
    before = time.time_ns()
    assert clock() >= before  # nothing set: the wall clock
    clock.set(datetime(2026, 11, 3, 10, 0, 0, 123456, tzinfo=UTC))
    seen = []
    other = threading.Thread(target=lambda: seen.append(clock()))
    other.start()
    other.join()
    assert clock() == 1793700000123456000
    assert seen[0] >= before and seen[0] != clock()
