"""Issue 16: two gateways race for a new Call-ID. Without a broker the store decides in the
request (``owners_bind``, under the call's lock), and the loser's answer now says so: its events are
``rejected`` with the reason, not ``accepted``. Each race is forced: the first request is held
inside its store, holding the call's lock, until the other is seen waiting for it (``pg_locks``)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

import cdr.services.calls as calls_mod
from cdr.models import Call, CallEvent, GatewayEvent
from cdr.services.gateway_events import gateway_events_accept
from cdr.services.gateways import gateway_create
from tests.support.factories import bye, call, event

pytestmark = pytest.mark.django_db(transaction=True)
RACED = "raced@gw"


def until_someone_waits() -> None:
    with connection.cursor() as cursor:
        for _ in range(2000):
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.005)
    raise AssertionError("no session ever waited for a lock")


@pytest.mark.parametrize("first", ["a", "b"], ids=["a-commits-first", "b-commits-first"])
def test_the_gateway_that_loses_the_race_is_answered_rejected_with_the_reason(monkeypatch, first):
    gateways = {
        "a": gateway_create(name="edge-a", tenant_ids=[7]).gateway,
        "b": gateway_create(name="edge-b", tenant_ids=[9]).gateway,
    }
    metas = {"a": call(RACED, tenant_id=7), "b": call(RACED, tenant_id=9)}
    batches = {name: [event("ringing", 0, meta), bye(4, 4, meta)] for name, meta in metas.items()}
    holding = threading.Event()
    real_mark = calls_mod.rollups_mark

    def mark_when_the_other_waits(**kw):
        if threading.current_thread().name == first and not holding.is_set():
            holding.set()
            until_someone_waits()
        return real_mark(**kw)

    monkeypatch.setattr(calls_mod, "rollups_mark", mark_when_the_other_waits)
    answers, errors = {}, {}

    def post(name):
        try:
            if name != first:
                holding.wait(30)
            answers[name] = gateway_events_accept(gateway=gateways[name], events=batches[name])
        except Exception as exc:  # surfaced below
            errors[name] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=post, name=name, args=(name,)) for name in gateways]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == {}
    second = "b" if first == "a" else "a"
    owner, loser_tenant = metas[first]["tenant_id"], metas[second]["tenant_id"]
    assert Call.objects.get(call_id=RACED).tenant_id == owner
    assert [o.status for o in answers[first].outcomes] == ["accepted", "accepted"]
    reason = f"call.tenant_id: call '{RACED}' belongs to tenant {owner} (bound first), not {loser_tenant}"
    assert [(o.status, o.code, o.reason) for o in answers[second].outcomes] == [("rejected", 403, reason)] * 2
    # The answer is what the event log says.
    logged = CallEvent.objects.filter(call_id=RACED, payload__gateway_id=gateways[second].pk)
    assert {(e.status, e.reason) for e in logged} == {("rejected", reason)}
    # Delivered all the same: a re-post is a duplicate, not a second chance.
    assert GatewayEvent.objects.filter(gateway=gateways[second]).count() == 2
