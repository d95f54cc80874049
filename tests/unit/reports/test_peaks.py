"""Peak concurrency per slot: the sweep against a brute-force count at every candidate instant."""

import random
from datetime import UTC, datetime, timedelta

from cdr.reports.buckets import SLOT, slot_of
from cdr.reports.peaks import MAX_LEG, leg_slots, leg_stop, peaks_sweep

T = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)


def brute(legs):
    spans = [(s, leg_stop(s, e)) for s, e in legs if leg_stop(s, e) > s]
    out = {}
    for s, stop in spans:
        at = slot_of(s)
        while at < stop:
            points = [at] + [x for x, _ in spans if at < x < at + SLOT]
            peak = max(sum(a <= p < b for a, b in spans) for p in points)
            if peak:
                out[at] = peak
            at += SLOT
    return out


def test_sweep_equals_brute_force_on_random_legs():
    rng = random.Random(5)
    for _ in range(60):
        legs = []
        for _ in range(rng.randint(0, 40)):
            start = T + timedelta(seconds=rng.randrange(0, 6 * 3600))
            end = None if rng.random() < 0.05 else start + timedelta(seconds=rng.choice([0, 1, 30, 900, 3600, 7200]))
            legs.append((start, end))
        legs.sort(key=lambda leg: leg[0])
        assert dict(peaks_sweep(legs)) == brute(legs)


def test_touching_legs_do_not_overlap_and_open_legs_last_max_leg():
    a = (T, T + timedelta(minutes=5))
    b = (T + timedelta(minutes=5), T + timedelta(minutes=10))
    assert dict(peaks_sweep([a, b])) == {T: 1}
    open_leg = [(T, None)]
    peaks = dict(peaks_sweep(open_leg))
    assert len(peaks) == MAX_LEG / SLOT and set(peaks.values()) == {1}
    assert leg_slots(T, T + timedelta(minutes=20)) == [T, T + SLOT]
    assert len(leg_slots(T, None)) == MAX_LEG / SLOT
    assert leg_slots(T, T) == [T]
