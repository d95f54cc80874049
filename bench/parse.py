"""Parsing benchmark: µs per event of the reference parser and of the msgspec one, same events.

    .venv/bin/python bench/parse.py [--calls 2000] [--repeat 7]

The events are the simulator's (every hook call of ``--calls`` calls, a few of them invalid on
purpose), JSON round-tripped: what the HTTP edge and the worker see. Each parser runs over all of
them ``--repeat`` times, interleaved; the best run of CPU time (``time.process_time``: the machine is
shared) counts. Also prints the HTTP path's parsing per accepted event before (edge + worker parse)
and after (edge parse + the worker's load of the queued format). Pure Python, no database. Prints
figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    from cdr.lifecycle.encode import encode_hook_call
    from cdr.lifecycle.events import Event, parse_event, parse_event_reference
    from cdr.lifecycle.handoff import events_dump, events_load
    from cdr.simulator import generate

    now = datetime.now(UTC)
    events = [
        json.loads(json.dumps(encode_hook_call(str(step.method), step.args, 1)))
        for sim in generate(args.calls, seed=19, base_time=datetime(2026, 3, 1, tzinfo=UTC))
        for step in sim.steps
    ]
    reference = [parse_event_reference(e, received_at=now) for e in events]
    new = [parse_event(e, received_at=now) for e in events]
    same = sum(a == b for a, b in zip(reference, new, strict=True))
    valid = [e for e, p in zip(events, reference, strict=True) if isinstance(p, Event)]
    queued = events_dump([p for p in reference if isinstance(p, Event)])
    print(f"{len(events)} events ({len(valid)} valid) of {args.calls} simulated calls; identical results: {same}")

    def run(fn: Callable[[Any], Any], items: list[Any]) -> float:
        t = time.process_time()
        for item in items:
            fn(item)
        return (time.process_time() - t) / len(items) * 1e6

    def ref(e: Any) -> Any:
        return parse_event_reference(e, received_at=now)

    def fast(e: Any) -> Any:
        return parse_event(e, received_at=now)

    best: dict[str, float] = {}
    cases: dict[str, tuple[Callable[[Any], Any], list[Any]]] = {
        "reference, all events": (ref, events),
        "msgspec, all events": (fast, events),
        "reference, valid events": (ref, valid),
        "msgspec, valid events": (fast, valid),
    }
    for _ in range(args.repeat):
        for name, (fn, items) in cases.items():
            best[name] = min(best.get(name, float("inf")), run(fn, items))
        t = time.process_time()
        events_load(queued)
        load = (time.process_time() - t) / len(valid) * 1e6
        best["worker load of the queued format"] = min(best.get("worker load of the queued format", 1e9), load)
    for name, value in best.items():
        print(f"  {name:34s} {value:7.2f} µs/event")
    for which in ("all", "valid"):
        ratio = best[f"reference, {which} events"] / best[f"msgspec, {which} events"]
        print(f"ratio reference : msgspec, {which} events {ratio:.2f}x")
    before = 2 * best["reference, valid events"]
    after = best["msgspec, valid events"] + best["worker load of the queued format"]
    print(
        f"HTTP path, parsing per accepted event: before (edge + worker parse) {before:.2f} µs, "
        f"after (edge parse + worker load) {after:.2f} µs, ratio {before / after:.2f}x"
    )


if __name__ == "__main__":
    main()
