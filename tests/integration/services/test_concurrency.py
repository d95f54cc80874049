"""Workers writing batches of the same calls at once still end with the fold of all events."""

import random
import threading
from collections import defaultdict
from datetime import timedelta

import pytest
from django.db import connection

from cdr.lifecycle.events import parse_event
from cdr.lifecycle.fold import derive_call
from cdr.models import Call
from cdr.services import events_ingest
from tests.support.factories import T0, bye, call, event

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_batches_touching_the_same_calls_lose_nothing():
    rng = random.Random(7)
    events = []
    for i in range(150):
        meta = call(call_id=f"k{i}", tenant_id=1 + i % 3)
        events += [event("ringing", 0.1, meta), event("established", 1 + i % 5, meta)]
        events += [bye(30, 30 + i % 7, meta, initiator="remote"), bye(31, 29 + i % 5, meta, initiator="local")]
    rng.shuffle(events)
    batches = [events[i : i + 15] for i in range(0, len(events), 15)]
    errors = []

    def worker(mine):
        try:
            for b in mine:
                events_ingest(events=b)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(batches[k::4],)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    by_call = defaultdict(list)
    for raw in events:
        e = parse_event(raw, received_at=T0)
        by_call[e.call_id].append(e)
    stored = {c.call_id: c for c in Call.objects.all()}
    assert len(stored) == 150
    for call_id, evs in by_call.items():
        want = derive_call(call_id, evs)
        got = stored[call_id]
        assert (got.status, got.ended_at, got.hangup_initiator, got.established_at) == (
            want.status,
            want.ended_at,
            want.hangup_initiator,
            want.established_at,
        ), call_id
        assert got.ended_at - T0 <= timedelta(seconds=36)
