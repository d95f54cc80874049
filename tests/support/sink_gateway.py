"""A gateway process feeding the store through the in-process hooks: ``CeleryLifecycleSink`` and
``StorageRecordingSink``, configured from the settings as docs/records.md and docs/recordings.md
describe (the same environment as the workers: database, broker, S3; its own ``CDR_VAR_DIR``).

    python -m tests.support.sink_gateway '{"seed": 1, "calls": 200, "base_time": "..."}' --rate 40

Runs the traffic through the sinks (with SN3 recordings), closes them, and prints their stats as
one JSON line; exits 1 when something was not delivered before ``--timeout``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("traffic")
    parser.add_argument("--rate", type=float, default=None, help="calls per second (default: as fast as possible)")
    parser.add_argument("--timeout", type=float, default=120.0)
    options = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
    from cdr import simulator
    from cdr.simulator.audio import sn3_conversation
    from cdr.sinks import lifecycle_sink_from_settings, recording_sink_from_settings
    from tests.support.traffic import Traffic

    calls = Traffic.loads(options.traffic).generate()
    clock = simulator.SimClock()
    sink = lifecycle_sink_from_settings(clock=clock)
    recordings = recording_sink_from_settings()
    run = simulator.run(
        calls, sink, recordings, threads=4, rate=options.rate, recording_factory=sn3_conversation, clock=clock
    )
    delivered = sink.close(timeout=options.timeout)
    # Recordings spooled while storage or the database was down wait for the retry thread's
    # doubling backoff: wake it as an operator would once they are back.
    deadline = time.monotonic() + options.timeout
    while not (uploaded := recordings.flush(timeout=1)) and time.monotonic() < deadline:
        recordings.retry_now()
    print(
        json.dumps(
            {
                "hook_calls": run.total,
                "hook_errors": sum(run.errors.values()),
                "delivered": delivered,
                "uploaded": uploaded,
                "sink": sink.stats(),
                "recordings": recordings.stats(),
            }
        )
    )
    return 0 if delivered and uploaded and not run.errors else 1


if __name__ == "__main__":
    sys.exit(main())
