"""What a Go gateway sends (time.Time as RFC3339Nano, its zero time) is understood as meant."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cdr.models import Call, CallEvent
from tests.factories import bye, call, event
from tests.integration.ingest.conftest import with_ids

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
