"""POST /ingest/v1/events: per-event outcomes, the sink's write path, re-posts change nothing."""

from __future__ import annotations

import json

import pytest

from cdr.models import Call, CallEvent, GatewayEvent, IngestedBatch, Transfer
from tests.support.factories import bye, call, event, failed
from tests.support.http import with_ids

pytestmark = pytest.mark.django_db

INBOUND = call("in-1@gw", tenant_id=7)
AGENT = call("agent-1@gw", tenant_id=0, direction="outbound", scenario="transfer_agent", correlation_id="in-1@gw")


def transferred_call() -> list[dict]:
    return with_ids(
        [
            event("ringing", 0.1, INBOUND),
            event("established", 1, INBOUND),
            event("transfer_started", 5, INBOUND, target_uri="sip:agent@pbx"),
            event("ringing", 5.5, AGENT),
            event("established", 6, AGENT),
            event("bridge_started", 6.1, None, inbound_call_id="in-1@gw", outbound_call_id="agent-1@gw"),
            bye(30, 30, AGENT),
            bye(30.2, 30, INBOUND),
        ]
    )


def snapshot() -> tuple:
    calls = sorted(Call.objects.values_list("call_id", "status", "tenant_id", "duration_ms", "billable_ms"))
    transfers = sorted(Transfer.objects.values_list("target_uri", "outbound_call_id", "outcome"))
    return calls, transfers, CallEvent.objects.count()


def test_a_batch_is_stored_through_the_sinks_path_with_one_outcome_per_event(gw):
    response = gw.events(transferred_call())
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["accepted"], body["duplicate"], body["rejected"]) == (8, 0, 0)
    assert [r["status"] for r in body["results"]] == ["accepted"] * 8
    assert [r["event_id"] for r in body["results"]] == [f"e{i}" for i in range(8)]
    inbound, agent = Call.objects.get(call_id="in-1@gw"), Call.objects.get(call_id="agent-1@gw")
    assert (inbound.status, inbound.billable_ms) == ("completed", 29_000)
    assert agent.tenant_id == 7  # inherited through the correlation id, as from the sink
    assert Transfer.objects.get().outbound_call_id == "agent-1@gw"
    assert set(CallEvent.objects.values_list("source", flat=True)) == {"http"}
    assert IngestedBatch.objects.filter(batch_id=body["batch_id"]).exists()


def test_reposting_a_batch_answers_duplicate_and_doubles_nothing(gw):
    batch = transferred_call()
    gw.events(batch)
    before = snapshot()
    again = gw.events(batch).json()
    assert (again["accepted"], again["duplicate"]) == (0, 8)
    assert snapshot() == before
    assert GatewayEvent.objects.count() == 8


def test_a_repost_without_event_ids_is_recognised_by_content(gw):
    batch = [event("ringing", 0.1, INBOUND), bye(9, 9, INBOUND)]
    assert gw.events(batch).json()["accepted"] == 2
    assert gw.events(batch).json()["duplicate"] == 2
    assert CallEvent.objects.count() == 2


def test_an_event_of_a_tenant_the_gateway_may_not_report_is_403_and_the_rest_goes_on(gw):
    foreign = call("other@gw", tenant_id=8)
    body = gw.events(with_ids([event("ringing", 0, foreign), event("ringing", 0, INBOUND)])).json()
    first, second = body["results"]
    assert (first["status"], first["code"]) == ("rejected", 403)
    assert "tenant 8" in first["reason"] and "edge-1" in first["reason"]
    assert second["status"] == "accepted"
    assert list(Call.objects.values_list("call_id", flat=True)) == ["in-1@gw"]


def test_calls_stored_under_another_tenant_cannot_be_written_bridged_or_inherited(gw):
    from cdr.services.gateways import gateway_create
    from tests.support.http import GatewayClient

    theirs = call("theirs@gw", tenant_id=8)
    other = GatewayClient(gateway_create(name="edge-8", tenant_ids=[8]))
    assert other.events(with_ids([event("ringing", 0, theirs)])).json()["accepted"] == 1
    body = gw.events(
        with_ids(
            [
                bye(5, 5, call("theirs@gw", tenant_id=7)),
                event("ringing", 1, call("agent@gw", tenant_id=0, correlation_id="theirs@gw")),
                event("bridge_started", 2, None, inbound_call_id="theirs@gw", outbound_call_id="agent@gw"),
                event("ringing", 1, call("mine@gw", tenant_id=0)),
            ]
        )
    ).json()
    outcomes = [(r["status"], r.get("code"), r.get("reason", "").split(":")[0]) for r in body["results"]]
    assert outcomes == [
        ("rejected", 403, "call.call_id"),
        ("rejected", 403, "call.correlation_id"),
        ("rejected", 403, "inbound_call_id"),
        ("accepted", None, ""),
    ]
    assert Call.objects.get(call_id="theirs@gw").status == "ringing"


def test_the_owner_check_reads_tenant_ids_above_2_63_as_unsigned():
    """The stored BIGINT of tenant 2**64-2 is negative; its own gateway may still write to the call."""
    from cdr.services.gateways import gateway_create
    from tests.support.http import GatewayClient

    big = 2**64 - 2
    mine = GatewayClient(gateway_create(name="edge-big", tenant_ids=[big]))
    other = GatewayClient(gateway_create(name="edge-7", tenant_ids=[7]))
    leg = call("big@gw", tenant_id=big)
    assert mine.events(with_ids([event("ringing", 0, leg)])).json()["accepted"] == 1
    later = mine.events(with_ids([event("established", 1, leg)], prefix="b")).json()
    assert later["accepted"] == 1, later
    refused = other.events(with_ids([bye(5, 5, call("big@gw", tenant_id=0))], prefix="c")).json()
    assert refused["results"][0]["code"] == 403, refused
    assert Call.objects.get(call_id="big@gw").tenant_id == big


def test_invalid_events_are_rejected_with_a_reason_naming_the_field_and_never_stored(gw):
    naive = event("ringing", 0, call("n@gw", started_at="2026-03-29T00:30:00"))
    events = with_ids(
        [
            naive,
            {"type": "hold", "observed_at": "2026-03-29T00:30:00Z"},
            event("expired", 0, call_id="x@gw", ended_at="2026-03-29T00:40:00+00:00"),
            event("ringing", 0, call("t@gw", tenant_id="7")),
            event("ringing", 0, INBOUND),
        ]
    )
    events.append("not an object")
    body = gw.events(events).json()
    reasons = [r.get("reason", "") for r in body["results"]]
    assert [r["status"] for r in body["results"]] == ["rejected"] * 4 + ["accepted", "rejected"]
    assert "call.started_at: naive timestamp" in reasons[0]
    assert reasons[1].startswith("type: unknown event type 'hold'")
    assert reasons[2].startswith("type: unknown event type 'expired'")  # the store's sweeper says that
    assert reasons[3] == "call.tenant_id: expected an integer, got str"
    assert reasons[5] == "event: expected an object, got str"
    assert CallEvent.objects.count() == 1 and GatewayEvent.objects.count() == 1


def test_a_time_past_year_9999_in_utc_is_rejected_and_the_rest_of_the_batch_accepted(gw):
    late = {**event("ringing", 0, call("late@gw")), "observed_at": "9999-12-31T23:59:59-01:00"}
    response = gw.events(with_ids([late, event("ringing", 0, INBOUND)]))
    assert response.status_code == 200, response.content[:300]
    first, second = response.json()["results"]
    assert (first["code"], second["status"]) == (400, "accepted")
    assert first["reason"].startswith("observed_at: outside years 1 to 9999 in UTC")
    assert list(CallEvent.objects.values_list("call_id", flat=True)) == [INBOUND["call_id"]]


def test_occurred_at_is_the_observed_moment(gw):
    ev = event("ringing", 0, INBOUND)
    ev["occurred_at"] = ev.pop("observed_at")
    assert gw.events([ev]).json()["accepted"] == 1
    assert CallEvent.objects.get().observed_at.isoformat() == ev["occurred_at"]
    both = dict(ev, observed_at=ev["occurred_at"], event_id="b")
    assert gw.events([both]).json()["results"][0]["reason"].startswith("occurred_at: give observed_at or")


def test_an_event_id_reused_for_other_content_is_409_not_a_silent_duplicate(gw):
    gw.events([dict(event("ringing", 0, INBOUND), event_id="x")])
    reused = gw.events([dict(failed(1, 1, INBOUND), event_id="x")]).json()["results"][0]
    assert (reused["status"], reused["code"]) == ("rejected", 409)
    twice = gw.events(
        [
            dict(bye(2, 2, INBOUND), event_id="y"),
            dict(failed(3, 3, INBOUND), event_id="y"),
            dict(bye(2, 2, INBOUND), event_id="y"),
        ]
    ).json()
    assert [r["status"] for r in twice["results"]] == ["accepted", "rejected", "duplicate"]
    assert Call.objects.get().status == "completed"


def test_event_ids_are_per_gateway(gw, issued):
    from cdr.services.gateways import gateway_create
    from tests.support.http import GatewayClient

    other = GatewayClient(gateway_create(name="edge-2", tenant_ids=[7]))
    gw.events([dict(event("ringing", 0, INBOUND), event_id="1")])
    assert other.events([dict(event("established", 1, INBOUND), event_id="1")]).json()["accepted"] == 1


def test_a_batch_costs_a_bounded_number_of_queries(gw, django_assert_max_num_queries):
    batch = with_ids([event("ringing", i, call(f"q{i}@gw")) for i in range(200)])
    # Signature (gateway row, last seen), the event ids, the publish (eager ingest: log, calls, report
    # rollups at three grains, peaks, ledger): a constant per batch, never per event.
    with django_assert_max_num_queries(32):
        assert gw.events(batch).json()["accepted"] == 200
    assert Call.objects.count() == 200


def test_old_event_ids_are_purged_and_a_late_repost_is_still_harmless(gw, settings):
    from cdr.tasks import gateway_events_purge

    batch = transferred_call()
    gw.events(batch)
    before = snapshot()
    assert gateway_events_purge.apply().get() == 0  # inside the window (7 days)
    settings.CDR_INGEST = {**settings.CDR_INGEST, "EVENT_ID_DAYS": 0}
    assert gateway_events_purge.apply().get() == 8
    assert gw.events(batch).json()["accepted"] == 8  # no longer known as delivered...
    assert snapshot() == before  # ...and still stored once


def test_text_postgresql_cannot_store_is_rejected_per_event_and_the_batch_goes_on(gw):
    """NUL and unpaired surrogates are valid JSON escapes but not storable text: accepting them would
    fail the worker's whole batch on every retry."""
    events = with_ids(
        [
            event("ringing", 0, call("fine@gw", tenant_id=7)),
            event("ringing", 0, call("nul@gw", tenant_id=7)),
            event("ringing", 0, call("surrogate@gw", tenant_id=7)),
        ]
    )
    body = json.dumps(events).replace("nul@gw", "nul\\u0000@gw").replace("surrogate@gw", "s\\ud800@gw").encode()
    answer = gw.events(body).json()
    outcomes = [(r["status"], r.get("code"), r.get("reason", "")[:40]) for r in answer["results"]]
    assert outcomes == [
        ("accepted", None, ""),
        ("rejected", 400, "call.call_id: contains NUL or an unpaire"),
        ("rejected", 400, "call.call_id: contains NUL or an unpaire"),
    ]
    assert list(Call.objects.values_list("call_id", flat=True)) == ["fine@gw"]
