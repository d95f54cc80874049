"""What a running deployment stored, compared with the simulator's oracle; run with the stack's
environment (as ``docker compose exec web ...`` would), prints one JSON object.

    python -m tests.support.stack_check '[{"seed": 1, "calls": 200, "base_time": "..."}, ...]'

``problems``: every difference between the stored calls and what the given traffic must give
(missing, wrong, doubled transfer attempts, unexpected calls); ``queued``/``set_aside``: HTTP events
not stored yet; ``wav_recordings``: ids of recordings with a playable WAV.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
    from datetime import timedelta

    from django.utils import timezone

    from cdr import simulator
    from cdr.conf import cdr_setting
    from cdr.models import CallEvent, Recording
    from cdr.selectors.gateway_batches import gateway_batches_state
    from tests.support.oracle import mismatches
    from tests.support.traffic import Traffic

    expected = {}
    for item in json.loads(sys.argv[1]):
        expected |= simulator.expected_by_call_id(Traffic(**item).generate())
    # Legs the oracle leaves open and the sweeper (beat, every minute) may have closed by now.
    now = timezone.now()
    timeout = {
        simulator.Status.RINGING: timedelta(seconds=cdr_setting("CDR_RINGING_TIMEOUT")),
        simulator.Status.ESTABLISHED: timedelta(seconds=cdr_setting("CDR_ESTABLISHED_TIMEOUT")),
    }
    may_expire = {
        call_id
        for call_id, want in expected.items()
        if want.status in timeout and want.started_at < now - timeout[want.status]
    }
    queue = gateway_batches_state()
    print(
        json.dumps(
            {
                "problems": mismatches(expected, may_expire=may_expire),
                "calls": len(expected),
                "events": CallEvent.objects.count(),
                "queued": queue.queued_events,
                "set_aside": queue.set_aside_events,
                "wav_recordings": list(Recording.objects.exclude(wav_key="").values_list("pk", flat=True)[:5]),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
