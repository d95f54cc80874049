import random
import time
from datetime import UTC, datetime

import pytest

from cdr import simulator
from cdr.lifecycle.encode import encode_hook_call
from cdr.services import events_ingest


class EventCollector:
    """A LifecycleSink that keeps the JSON events the real sink would have sent."""

    def __init__(self):
        self.events = []

    def __getattr__(self, method):
        if not method.startswith("on_"):
            raise AttributeError(method)
        return lambda *args: self.events.append(encode_hook_call(method, args, time.time_ns()))

    def close(self, timeout=None):
        return True


def simulated_events(n, *, seed, base_time):
    calls = simulator.generate(n, seed=seed, base_time=base_time, time_scale=0.0001)
    sink = EventCollector()
    simulator.run(calls, sink, threads=2)
    return sink.events


def ingest_messily(events, *, seed, batch=25):
    """Deliver with duplicates, reordering and some events held back and sent late."""
    rng = random.Random(seed)
    pool = events + rng.sample(events, len(events) // 4)
    rng.shuffle(pool)
    late = pool[: len(pool) // 10]
    now = pool[len(pool) // 10 :]
    for i in range(0, len(now), batch):
        events_ingest(events=now[i : i + batch])
    for i in range(0, len(late), batch):
        events_ingest(events=late[i : i + batch])


@pytest.fixture
def base_time():
    # A DST change inside the range (Europe: 2026-03-29), calls on both sides of it.
    return datetime(2026, 3, 28, 20, 0, tzinfo=UTC)


@pytest.fixture
def calls(db, local_recordings):
    from cdr.services.rollups import rollups_catch_up
    from tests.integration.admin.data import two_tenants

    made = two_tenants()
    rollups_catch_up()  # as the periodic task would have: the pinned query counts are the steady state
    return made


@pytest.fixture
def staff_client(client, calls):
    from tests.integration.admin.data import TENANT_A, staff_user

    client.force_login(staff_user("alice", TENANT_A))
    return client


@pytest.fixture
def superuser_client(calls, django_user_model):
    from django.test import Client

    client = Client()
    client.force_login(django_user_model.objects.create_superuser("root", password="x" * 12))
    return client
