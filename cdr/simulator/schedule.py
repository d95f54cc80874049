"""The delivery schedule: which worker delivers which step of which call, when, in what order.

It is computed up front from a seed, so reordering and rate limiting can be tested on this
plain value without timing assertions, and a run is reproducible apart from thread interleaving.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from cdr.simulator.model import SimCall, Step


@dataclass(frozen=True, slots=True)
class Delivery:
    """One step to deliver: ``due`` seconds after the run starts, by one worker."""

    due: float
    call: int  # index into the calls list
    step: int  # index into that call's steps


@dataclass(frozen=True, slots=True)
class Schedule:
    """Per-worker delivery lists, each sorted by due time; a call belongs to one worker."""

    workers: tuple[tuple[Delivery, ...], ...]

    def order_of(self, call: int) -> list[int]:
        """The order in which the steps of one call are delivered."""
        return [d.step for w in self.workers for d in w if d.call == call]


def perturbed_order(steps: Sequence[Step], rng: random.Random, window: float) -> list[int]:
    """Indexes of ``steps`` in delivery order: floating steps move up to ``window`` places.

    Floating steps (byes, re-INVITEs, agent-leg events) come from other goroutines in the
    gateway, so a bye can overtake a late re-INVITE and crossing byes can swap.
    """
    if window <= 0:
        return list(range(len(steps)))
    keys = [i + (rng.uniform(-window, window) if s.floating else 0.0) for i, s in enumerate(steps)]
    return sorted(range(len(steps)), key=lambda i: (keys[i], i))


def plan(
    calls: Sequence[SimCall],
    *,
    threads: int = 4,
    rate: float | None = None,
    realtime: bool = False,
    shuffle_window: float = 1.5,
    seed: int = 0,
) -> Schedule:
    """Assign call ``i`` to worker ``i % threads``, starting at ``i / rate`` (0 if no rate).

    With ``realtime`` each step is due at its start plus its offset (never before the step
    delivered just before it); otherwise every step of a call is due at the call's start.
    """
    if threads < 1:
        raise ValueError("threads must be >= 1")
    if rate is not None and rate <= 0:
        raise ValueError("rate must be > 0 or None")
    rng = random.Random(seed)
    workers: list[list[Delivery]] = [[] for _ in range(threads)]
    for ci, call in enumerate(calls):
        start = ci / rate if rate else 0.0
        due = start
        for si in perturbed_order(call.steps, rng, shuffle_window):
            if realtime:
                due = max(due, start + call.steps[si].offset)
            workers[ci % threads].append(Delivery(due, ci, si))
    return Schedule(tuple(tuple(sorted(w, key=lambda d: d.due)) for w in workers))
