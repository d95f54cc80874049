"""Simulated traffic described by a few JSON values, so another process can make the same calls.

A test hands a ``Traffic`` to a gateway process (``tests/support/sink_gateway.py``) and to the
checker (``tests/support/stack_check.py``); both rebuild the very same calls from it, and the
checker compares what was stored with the simulator's oracle for all of them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from cdr import simulator
from cdr.simulator.values import LARGE_TENANT

# Every tenant simulator.generate uses: 1..20 and a large id.
TENANTS = [*range(1, 21), LARGE_TENANT]


@dataclass(frozen=True)
class Traffic:
    seed: int
    calls: int
    base_time: str  # ISO 8601, timezone-aware

    @classmethod
    def ended_before(cls, now: datetime, *, seed: int, calls: int) -> Traffic:
        """Calls that are all over by ``now`` (the longest, a transfer, lasts about 25 minutes)."""
        return cls(seed, calls, (now - timedelta(seconds=calls * 0.5 + 1800)).isoformat())

    def generate(self) -> list[simulator.SimCall]:
        return simulator.generate(self.calls, seed=self.seed, base_time=datetime.fromisoformat(self.base_time))

    def dumps(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def loads(cls, text: str) -> Traffic:
        return cls(**json.loads(text))
