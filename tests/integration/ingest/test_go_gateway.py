"""What a Go gateway sends (time.Time as RFC3339Nano, its zero time) is understood as meant."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cdr.models import Call, CallEvent
from tests.support.factories import T0, bye, call, event
from tests.support.http import with_ids

pytestmark = pytest.mark.django_db

NANO = call("go-1@gw", tenant_id=7, started_at="2026-03-29T00:30:00.123456789Z")


def go_call() -> list[dict]:
    ringing = dict(event("ringing", 0, NANO), observed_at="2026-03-29T00:30:00.200000001Z")
    hangup = bye(9, 9, NANO)
    hangup["observed_at"] = "2026-03-29T02:30:09.999999999+02:00"
    hangup["hangup"]["ended_at"] = "2026-03-29T00:30:09.5000001Z"
    return [ringing, hangup]


@pytest.mark.parametrize("ids", [True, False], ids=["event_id", "content"])
def test_nanosecond_times_are_accepted_truncated_and_a_repost_is_a_duplicate(gw, ids):
    batch = with_ids(go_call()) if ids else go_call()
    body = gw.events(batch).json()
    assert [r["status"] for r in body["results"]] == ["accepted", "accepted"], body
    row = Call.objects.get(call_id="go-1@gw")
    assert row.started_at == datetime(2026, 3, 29, 0, 30, 0, 123456, tzinfo=UTC)
    assert row.ended_at == datetime(2026, 3, 29, 0, 30, 9, 500000, tzinfo=UTC)
    stored = CallEvent.objects.get(type="ringing")
    assert stored.observed_at == datetime(2026, 3, 29, 0, 30, 0, 200000, tzinfo=UTC)
    assert stored.payload["call"]["started_at"] == "2026-03-29T00:30:00.123456+00:00"
    again = gw.events(batch).json()
    assert [r["status"] for r in again["results"]] == ["duplicate", "duplicate"], again
    assert CallEvent.objects.count() == 2


ZERO = "0001-01-01T00:00:00Z"  # Go's zero time.Time
KNOWN = call("go-2@gw", tenant_id=7)
STARTLESS = call("go-2@gw", tenant_id=7, started_at=ZERO)


def test_a_bye_with_a_zero_started_at_closes_a_call_already_stored(gw):
    assert gw.events(with_ids([event("ringing", 0, KNOWN)], "a")).json()["accepted"] == 1
    body = gw.events(with_ids([bye(9, 9, STARTLESS)], "b")).json()
    assert body["results"][0]["status"] == "accepted", body
    row = Call.objects.get(call_id="go-2@gw")
    assert (row.status, row.started_at, row.duration_ms) == ("completed", T0, 9000)
    assert gw.events(with_ids([bye(9, 9, STARTLESS)], "b")).json()["duplicate"] == 1
    gw.events([bye(9, 9, STARTLESS)])  # without its event_id: the store knows it by content
    assert CallEvent.objects.filter(call_id="go-2@gw", type="bye").count() == 1


def test_a_zero_started_at_takes_the_start_of_its_calls_events_in_the_same_batch(gw):
    batch = [event("established", 2, STARTLESS), bye(9, 9, STARTLESS), event("ringing", 0, KNOWN)]
    body = gw.events(batch).json()
    assert body["accepted"] == 3, body
    row = Call.objects.get(call_id="go-2@gw")
    assert (row.status, row.started_at, row.billable_ms) == ("completed", T0, 7000)


def test_a_zero_started_at_of_an_unknown_call_is_rejected_with_a_reason_and_the_rest_goes_on(gw):
    body = gw.events([bye(9, 9, STARTLESS), event("ringing", 0, call("other@gw", tenant_id=7))]).json()
    assert [r["status"] for r in body["results"]] == ["rejected", "accepted"]
    assert body["results"][0]["code"] == 400
    assert "call.started_at: Go's zero time" in body["results"][0]["reason"]
    assert "'go-2@gw' is not stored" in body["results"][0]["reason"]
    assert not Call.objects.filter(call_id="go-2@gw").exists()
    assert not CallEvent.objects.filter(call_id="go-2@gw").exists()
