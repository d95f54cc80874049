"""How many event-log rows the store must hold for simulated calls (the count side of the oracle)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from cdr.lifecycle.encode import encode_hook_call
from cdr.lifecycle.events import parse_event
from cdr.simulator.model import SimCall


def distinct_event_count(calls: Iterable[SimCall]) -> int:
    """Distinct event contents over every hook step: repeats collapse, nothing else does.

    Stamps are irrelevant to a fingerprint except for transfer attempts, which the simulator
    never repeats, so each step gets its own stamp here.
    """
    now = datetime.now(UTC)
    fingerprints = set()
    stamp = 0
    for call in calls:
        labels = call.labels  # set before each leg's first hook: all its events carry them
        for step in call.steps:
            stamp += 1000
            event = encode_hook_call(str(step.method), step.args, stamp, labels.get(step.leg))
            fingerprints.add(parse_event(event, received_at=now).fingerprint)
    return len(fingerprints)
