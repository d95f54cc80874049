"""The HTTP edge's queue: accepted events are committed to GatewayBatch, and drained in batches of
up to max_events into the same store as the sink's, each event once."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from cdr.dispatch import drain_nudges_wait
from cdr.models import Call, CallEvent, GatewayBatch
from cdr.selectors.gateway_batches import gateway_batches_queued, gateway_batches_state
from cdr.services.gateway_batches import gateway_batches_drain, gateway_batches_retry
from tests.support.factories import T0, bye, call, event
from tests.support.http import with_ids

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queued(monkeypatch):
    """Broker mode with a broker nobody listens on: requests are answered, nudges fail quietly."""
    from project.celery import app

    monkeypatch.setattr(app.conf, "task_always_eager", False)
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    yield
    drain_nudges_wait()  # none still on its way when the next test changes the broker


def test_accepted_events_wait_in_the_queue_and_a_drain_stores_them_once(gw, queued, caplog):
    for n in range(3):
        leg = call(f"q{n}@gw", tenant_id=7)
        body = gw.events(with_ids([event("ringing", 0, leg), bye(5, 5, leg)], prefix=f"r{n}-")).json()
        assert body["accepted"] == 2
    assert GatewayBatch.objects.count() == 3 and gateway_batches_queued() == 6
    assert CallEvent.objects.count() == 0
    assert drain_nudges_wait()
    assert "could not nudge cdr.gateway_batches_drain" in caplog.text

    assert gateway_batches_drain(max_events=3) == 6  # 2 + 2 > 3: one request's events per round
    assert GatewayBatch.objects.count() == 0 and CallEvent.objects.count() == 6
    assert sorted(Call.objects.values_list("call_id", "status")) == [
        ("q0@gw", "completed"),
        ("q1@gw", "completed"),
        ("q2@gw", "completed"),
    ]
    assert gateway_batches_drain() == 0  # idempotent: an empty queue is a no-op

    again = gw.events(with_ids([event("ringing", 0, call("q0@gw", tenant_id=7))], prefix="r0-")).json()
    assert again["duplicate"] == 1 and GatewayBatch.objects.count() == 0


def test_events_of_many_requests_are_stored_in_one_transaction(gw, queued, django_assert_max_num_queries):
    for n in range(10):
        gw.events(with_ids([event("ringing", 0, call(f"m{n}@gw", tenant_id=7))], prefix=f"m{n}-"))
    # Ten requests, one store: the worker's per-transaction cost is paid once, not ten times.
    with django_assert_max_num_queries(30):
        assert gateway_batches_drain() == 10
    assert Call.objects.count() == 10


def test_a_batch_that_cannot_be_stored_is_set_aside_and_the_queue_goes_on(gw, queued, caplog):
    from django.utils import timezone

    gw.events(with_ids([event("ringing", 0, call("a@gw", tenant_id=7))], prefix="a-"))
    # A row no worker can read (say, edited by hand): it must not block what is queued behind it.
    bad = GatewayBatch.objects.create(
        batch_id="http-bad",
        gateway=GatewayBatch.objects.get().gateway,
        events="[{not json",
        event_count=1,
        received_at=timezone.now(),
    )
    gw.events(with_ids([event("ringing", 0, call("b@gw", tenant_id=7))], prefix="b-"))

    assert gateway_batches_drain() == 2
    assert sorted(Call.objects.values_list("call_id", flat=True)) == ["a@gw", "b@gw"]
    bad.refresh_from_db()
    assert bad.error.startswith("JSONDecodeError") and gateway_batches_queued() == 0
    assert f"HTTP batch {bad.pk} set aside, not stored: JSONDecodeError" in caplog.text
    assert gateway_batches_drain() == 0  # set aside: not retried until an operator clears the error


def _set_aside(gw, call_id: str) -> GatewayBatch:
    """A queued request whose row was corrupted, drained: set aside with its error."""
    gw.events(with_ids([event("ringing", 0, call(call_id, tenant_id=7))], prefix=f"{call_id}-"))
    batch = GatewayBatch.objects.get(error="", events__contains=call_id)
    good = batch.events
    GatewayBatch.objects.filter(pk=batch.pk).update(events=good.replace("[", "[{not json", 1))
    gateway_batches_drain()
    batch.refresh_from_db()
    assert batch.error.startswith("JSONDecodeError")
    batch.good = good  # type: ignore[attr-defined]
    return batch


def test_the_queue_state_counts_queued_and_set_aside_events_apart(gw, queued):
    empty = gateway_batches_state()
    assert (empty.queued_batches, empty.queued_events, empty.oldest_received_at) == (0, 0, None)
    aside = _set_aside(gw, "aside@gw")
    gw.events(with_ids([event("ringing", 0, call("w@gw", tenant_id=7)), bye(5, 5, call("w@gw", tenant_id=7))]))
    state = gateway_batches_state()
    waiting = GatewayBatch.objects.get(error="")
    assert (state.queued_batches, state.queued_events, state.oldest_received_at) == (1, 2, waiting.received_at)
    assert (state.set_aside_batches, state.set_aside_events) == (1, 1) and aside.pk != waiting.pk
    assert gateway_batches_queued() == 2


def test_a_set_aside_batch_fixed_and_retried_is_stored_once(gw, queued, caplog):
    aside = _set_aside(gw, "fixme@gw")
    other = _set_aside(gw, "other@gw")
    assert gateway_batches_retry(batch_ids=[aside.pk]) == 1  # still broken: set aside again
    assert gateway_batches_drain() == 0
    aside.refresh_from_db()
    assert aside.error.startswith("JSONDecodeError")

    GatewayBatch.objects.filter(pk=aside.pk).update(events=aside.good)  # the operator's fix
    assert gateway_batches_retry(batch_ids=[aside.pk, 10**9]) == 1  # an unknown id is ignored
    assert gateway_batches_drain() == 1
    assert list(Call.objects.values_list("call_id", flat=True)) == ["fixme@gw"]
    assert list(GatewayBatch.objects.values_list("pk", flat=True)) == [other.pk]  # untouched: not retried
    assert gateway_batches_retry(batch_ids=[aside.pk]) == 0  # stored and gone: nothing to retry
    assert CallEvent.objects.count() == 1


def test_the_command_shows_the_queue_and_retries(gw, queued, capsys):
    aside = _set_aside(gw, "cmd@gw")
    capsys.readouterr()
    call_command("cdr_gateway", "queue")
    out = capsys.readouterr().out
    assert "queued_events=0" in out and "set_aside_batches=1" in out and "set_aside_events=1" in out
    with pytest.raises(CommandError, match="none of these ids is a set-aside batch"):
        call_command("cdr_gateway", "retry", str(aside.pk + 1000))
    call_command("cdr_gateway", "retry", str(aside.pk))
    assert "queued 1 set-aside batch(es) again" in capsys.readouterr().out
    call_command("cdr_gateway", "queue")
    assert "queued_batches=1" in capsys.readouterr().out
    call_command("cdr_gateway", "retry", "--all")  # none left set aside: fine, says so
    assert "queued 0 set-aside batch(es) again" in capsys.readouterr().out


def test_superusers_see_the_queue_in_the_admin_and_retry_from_it(gw, queued, client, django_user_model):
    aside = _set_aside(gw, "adm@gw")
    gw.events(with_ids([event("ringing", 0, call("adm2@gw", tenant_id=7))], prefix="adm2-"))
    staff = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(staff)
    assert client.get("/admin/cdr/gatewaybatch/").status_code == 403  # raw events of any tenant
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw"))

    listing = client.get("/admin/cdr/gatewaybatch/").content.decode()
    assert "1 event in 1 batch waiting for a worker (oldest received" in listing
    assert "1 batch (1 event) set aside" in listing
    only_aside = client.get("/admin/cdr/gatewaybatch/?state=set_aside").content.decode()
    assert aside.batch_id in only_aside and "JSONDecodeError" in only_aside
    assert GatewayBatch.objects.get(error="").batch_id not in only_aside
    detail = client.get(f"/admin/cdr/gatewaybatch/{aside.pk}/change/").content.decode()
    assert "{not json" in detail  # shown as stored: what the error is about
    GatewayBatch.objects.filter(pk=aside.pk).update(events=aside.good)
    detail = client.get(f"/admin/cdr/gatewaybatch/{aside.pk}/change/").content.decode()
    assert "&quot;call_id&quot;: &quot;adm@gw&quot;" in detail  # pretty-printed, escaped
    assert client.post(f"/admin/cdr/gatewaybatch/{aside.pk}/delete/", {"post": "yes"}).status_code == 403

    client.post("/admin/cdr/gatewaybatch/", {"action": "retry", "_selected_action": [aside.pk]})
    assert GatewayBatch.objects.get(pk=aside.pk).error == ""
    assert gateway_batches_drain() == 2
    assert sorted(Call.objects.values_list("call_id", flat=True)) == ["adm2@gw", "adm@gw"]


def test_without_a_broker_a_retried_batch_is_stored_at_once(issued):
    """The embedded default has no worker and no beat: set-aside batches left by a broker-mode
    deployment are drained by the retry itself."""
    from django.utils import timezone

    leg = call("eager@gw", tenant_id=7)
    GatewayBatch.objects.create(
        batch_id="http-old",
        gateway=issued.gateway,
        events=json.dumps([dict(event("ringing", 0, leg), gateway_id=issued.gateway.pk)]),
        event_count=1,
        received_at=timezone.now(),
        error="OperationalError: a bug since fixed",
    )
    assert gateway_batches_retry() == 1
    assert list(Call.objects.values_list("call_id", flat=True)) == ["eager@gw"]
    assert not GatewayBatch.objects.exists()


@pytest.mark.parametrize("interruption", ["SoftTimeLimitExceeded", "MemoryError"])
def test_a_drain_interrupted_while_retrying_one_by_one_sets_nothing_aside(gw, queued, monkeypatch, interruption):
    """The task's soft time limit (or memory) says nothing about the batch: it must stay queued."""
    from celery.exceptions import SoftTimeLimitExceeded

    from cdr.services import gateway_batches as drain

    gw.events(with_ids([event("ringing", 0, call("one@gw", tenant_id=7))], prefix="one-"))
    gw.events(with_ids([event("ringing", 0, call("two@gw", tenant_id=7))], prefix="two-"))
    calls = []
    stop = SoftTimeLimitExceeded() if interruption == "SoftTimeLimitExceeded" else MemoryError()

    def failing(**kwargs):
        calls.append(len(kwargs["events"]))
        raise ValueError("a bug in the round") if len(calls) == 1 else stop

    original = drain.events_ingest
    monkeypatch.setattr(drain, "events_ingest", failing)
    with pytest.raises(type(stop)):
        gateway_batches_drain()
    assert calls == [2, 1]  # the round (both batches), then the first one alone, interrupted
    assert list(GatewayBatch.objects.values_list("error", flat=True)) == ["", ""]
    monkeypatch.setattr(drain, "events_ingest", original)
    assert gateway_batches_drain() == 2  # the next drain stores both


def test_a_zero_started_at_of_a_call_still_queued_is_accepted_and_takes_its_start_when_drained(gw, queued):
    leg = call("zq@gw", tenant_id=7)
    assert gw.events(with_ids([event("ringing", 0, leg)], prefix="zq-r")).json()["accepted"] == 1
    # Not stored yet, but queued: the edge cannot tell it is unknown, so it accepts.
    startless = call("zq@gw", tenant_id=7, started_at="0001-01-01T00:00:00Z")
    assert gw.events(with_ids([bye(5, 5, startless)], prefix="zq-b")).json()["accepted"] == 1
    # Drained in either order (concurrent drains take batches out of order), the record is the same.
    first, second = GatewayBatch.objects.order_by("-id")
    for batch in (first, second):
        GatewayBatch.objects.exclude(pk=batch.pk).update(error="held")
        assert gateway_batches_drain() == 1
        GatewayBatch.objects.update(error="")
    row = Call.objects.get(call_id="zq@gw")
    assert (row.status, row.started_at, row.duration_ms) == ("completed", T0, 5000)


def _stored() -> tuple[list, list]:
    """Every stored column but the row's id and the moments of writing."""

    def rows(model, skip):
        names = [f.attname for f in model._meta.concrete_fields if f.name not in skip]
        return sorted(tuple(repr(v) for v in row) for row in model.objects.values_list(*names))

    return rows(CallEvent, ("id", "received_at")), rows(Call, ("id", "updated_at"))


def test_a_batch_queued_as_wire_json_before_the_upgrade_drains_as_the_validated_format_does(
    gw, issued, queued, monkeypatch
):
    """Rows queued by the release before the edge handed validated events over (a JSON array of the
    wire events, gateway_id set) still drain after the upgrade, into the very rows the new format gives."""
    from django.utils import timezone

    leg = call("old@gw", tenant_id=7, labels={"to": "+331", "from": "é"}, started_at="2026-03-29T00:30:00.123456789Z")
    agent = call("agent@gw", tenant_id=0, correlation_id="old@gw", direction="outbound", scenario="transfer_agent")
    batch = with_ids(
        [
            event("ringing", 0, leg),
            event("established", 1, leg),
            event("transfer_started", 2, leg, target_uri="sip:agent@pbx"),
            event("ringing", 2.5, agent),
            {
                "type": "bridge_started",
                "observed_at": "2026-03-29T00:30:03Z",
                "inbound_call_id": "old@gw",
                "outbound_call_id": "agent@gw",
            },
            bye(9, 9, leg, duration_ms=8000),
            bye(9, 9, agent),
        ]
    )
    gateway_id = issued.gateway.pk
    from cdr.services import events as store

    parses = []
    parse = store.parse_event
    monkeypatch.setattr(store, "parse_event", lambda raw, **kw: parses.append(raw) or parse(raw, **kw))
    # What the previous release queued: the wire events as posted (observed_at, event_id), gateway_id set.
    GatewayBatch.objects.create(
        batch_id="http-old",
        gateway_id=gateway_id,
        events=json.dumps([{**e, "gateway_id": gateway_id} for e in batch]),
        event_count=len(batch),
        received_at=timezone.now(),
    )
    assert gateway_batches_drain() == len(batch)
    assert len(parses) == len(batch)  # the wire JSON is parsed, as before
    old = _stored()
    assert len(old[0]) == len(batch) and len(old[1]) == 2
    assert CallEvent.objects.filter(status="accepted").count() == len(batch)
    assert Call.objects.get(call_id="old@gw").labels == {"from": "é", "to": "+331"}
    CallEvent.objects.all().delete()
    Call.objects.all().delete()

    assert gw.events(batch).json()["accepted"] == len(batch)
    queued_now = json.loads(GatewayBatch.objects.get().events)
    assert queued_now["format"] == 2 and len(queued_now["events"]) == len(batch)
    parses.clear()
    assert gateway_batches_drain() == len(batch)
    assert parses == []  # validated at the edge: loaded, not parsed again
    assert _stored() == old
