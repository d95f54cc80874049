"""Workers ingesting batches of the same calls at once, while catch-ups apply them, leave rollups
equal to the raw aggregate."""

import random
import threading
from datetime import timedelta

import pytest
from django.db import connection

from cdr.models import Call
from cdr.services import events_ingest
from cdr.services.rollups import rollups_catch_up
from tests.support.factories import bye, call, event, failed
from tests.support.reports import assert_rollups_match_raw

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_batches_keep_rollups_exact(base_time):
    rng = random.Random(17)
    events = []
    for i in range(120):
        meta = call(
            call_id=f"p{i}",
            tenant_id=1 + i % 2,
            direction=("inbound", "outbound")[i % 2],
            started_at=(base_time + timedelta(minutes=13 * i)).isoformat(),
        )
        events += [event("ringing", 0.5 + i % 3, meta)]
        if i % 4:
            events += [event("established", 4, meta), bye(90, 60 + i % 50, meta, initiator="remote")]
            events += [bye(91, 55 + i % 40, meta, initiator="local")]  # a crossing second BYE
        else:
            events += [failed(5, 5, meta, sip_code=(486, 503)[i % 8 == 0])]
    events += rng.sample(events, 100)  # duplicates
    rng.shuffle(events)
    batches = [events[i : i + 12] for i in range(0, len(events), 12)]
    errors = []

    def worker(mine):
        try:
            for b in mine:
                events_ingest(events=b)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    writing = threading.Event()
    writing.set()

    def catching_up():
        # Two catch-ups racing the writers and each other, as the periodic task and a report do.
        try:
            while writing.is_set():
                rollups_catch_up(limit=7)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(batches[k::4],)) for k in range(4)]
    helpers = [threading.Thread(target=catching_up) for _ in range(2)]
    for t in threads + helpers:
        t.start()
    for t in threads:
        t.join()
    writing.clear()
    for t in helpers:
        t.join()
    assert errors == []
    assert Call.objects.count() == 120
    assert_rollups_match_raw()
