from datetime import timedelta

import pytest

from cdr.models import Call, CallEvent
from cdr.services import calls_expire, events_ingest
from tests.support.factories import T0, bye, call, event

pytestmark = pytest.mark.django_db


def test_calls_without_an_end_are_closed_as_expired_and_a_late_bye_still_wins(settings):
    settings.CDR_RINGING_TIMEOUT = 600
    settings.CDR_ESTABLISHED_TIMEOUT = 3600
    events_ingest(
        events=[
            event("ringing", 1, call(call_id="cancelled")),
            event("established", 1, call(call_id="live")),
            event("ringing", 1, call(call_id="fresh", started_at=(T0 + timedelta(minutes=55)).isoformat())),
        ]
    )
    assert calls_expire(now=T0 + timedelta(minutes=30)) == 1
    assert dict(Call.objects.values_list("call_id", "status")) == {
        "cancelled": "expired",
        "live": "established",
        "fresh": "ringing",
    }
    cancelled = Call.objects.get(call_id="cancelled")
    assert cancelled.ended_at == T0 + timedelta(seconds=1) and cancelled.hangup.kind == "expired"
    assert calls_expire(now=T0 + timedelta(minutes=30)) == 0  # idempotent
    assert calls_expire(now=T0 + timedelta(hours=2)) == 2
    assert CallEvent.objects.filter(type="expired").count() == 3
    events_ingest(events=[bye(7200, 7300, call(call_id="live"))])
    live = Call.objects.get(call_id="live")
    assert (live.status, live.hangup.kind) == ("completed", "bye")
