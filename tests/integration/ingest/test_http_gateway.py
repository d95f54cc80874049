"""The simulator's gateway over HTTP against a live server: what a gateway in another process
posts ends up as exactly the records the simulator's oracle expects; an unreachable or refusing
server never blocks or raises into the hook caller."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from cdr import simulator
from cdr.hooks import CallMeta
from cdr.models import CallEvent
from cdr.services.gateways import gateway_create
from cdr.simulator.http_gateway import HttpGateway
from tests.support.oracle import mismatches
from tests.support.processes import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def test_simulated_calls_posted_over_http_become_their_records(live_server):
    calls = simulator.generate(150, seed=21, base_time=datetime(2026, 11, 4, 9, tzinfo=UTC), time_scale=0.01)
    tenants = sorted({s.args[0].tenant_id for c in calls for s in c.steps if hasattr(s.args[0], "tenant_id")})
    issued = gateway_create(name="sim-http", tenant_ids=tenants)
    gateway = HttpGateway(live_server.url, issued.gateway.key_id, issued.secret, flush_seconds=0.05)
    stats = simulator.run(calls, gateway, threads=4)
    assert not stats.errors, stats.first_errors  # nothing raised into the hook caller
    assert gateway.close(timeout=120), gateway.stats()
    sent = gateway.stats()
    assert sent["posted"] == stats.total and sent["pending"] == 0 and sent["refused"] == 0
    assert sent["accepted"] + sent["duplicate"] + sent["rejected"] == stats.total
    assert sent["rejected"] > 0  # the simulator's invalid re-INVITE legs, answered with their reason
    assert mismatches(simulator.expected_by_call_id(calls)) == []
    assert set(CallEvent.objects.values_list("source", flat=True)) == {"http"}


def test_a_server_not_listening_yet_never_blocks_the_caller_and_the_events_wait(db):
    gateway = HttpGateway(f"http://127.0.0.1:{free_port()}", "key", "secret", flush_seconds=0.01, retry_seconds=0.05)
    meta = _meta()
    t = time.perf_counter()
    for _ in range(100):
        gateway.on_ringing(meta)
    assert time.perf_counter() - t < 5  # generous: only that it does not wait for the network
    assert not gateway.flush(timeout=0.5)
    stats = gateway.stats()
    assert stats["pending"] == 100 and stats["retries"] >= 1 and "ConnectionRefusedError" in stats["last_error"]
    assert not gateway.close(timeout=0.1)
    assert gateway.stats()["pending"] == 100  # not dropped: a server that comes back would get them


def test_a_refused_batch_is_dropped_with_the_servers_reason(live_server):
    gateway = HttpGateway(live_server.url, "no-such-key", "secret", flush_seconds=0.01)
    gateway.on_ringing(_meta())
    assert gateway.close(timeout=30)
    stats = gateway.stats()
    assert (stats["refused"], stats["accepted"], stats["pending"]) == (1, 0, 0)
    assert stats["last_error"].startswith("HTTP 401") and "X-CDR-Key" in stats["last_error"]


def test_a_url_that_is_not_http_is_refused_at_once():
    with pytest.raises(ValueError, match="url: expected http"):
        HttpGateway("127.0.0.1:8000", "k", "s")


def _meta() -> CallMeta:
    return CallMeta(call_id="r@gw", direction="inbound", tenant_id=7, started_at=datetime(2026, 11, 4, tzinfo=UTC))
