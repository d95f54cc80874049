"""Built-in gateway simulator: realistic hook traffic for the demo, the e2e tests and benchmarks.

``scenarios.generate()`` builds deterministic calls (hook steps + the CDR the store must end up
with); ``runner.run()`` fires them at a LifecycleSink/RecordingSink from several threads, with
the repeats and reordering the real gateway produces. Pure Python: nothing from Django here.
"""

from cdr.simulator.clock import SimClock
from cdr.simulator.model import (
    Expected,
    ExpectedTransfer,
    Kind,
    Method,
    Mix,
    SimCall,
    Status,
    Step,
)
from cdr.simulator.runner import RunStats, run, step_time
from cdr.simulator.scenarios import expected_by_call_id, generate
from cdr.simulator.schedule import Delivery, Schedule, perturbed_order, plan

__all__ = [
    "Delivery",
    "Expected",
    "ExpectedTransfer",
    "Kind",
    "Method",
    "Mix",
    "RunStats",
    "Schedule",
    "SimCall",
    "SimClock",
    "Status",
    "Step",
    "expected_by_call_id",
    "generate",
    "perturbed_order",
    "plan",
    "run",
    "step_time",
]
