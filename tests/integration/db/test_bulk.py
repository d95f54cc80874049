"""bulk_upsert: one statement per batch; what it stores is what it was given, on either path."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from cdr.db.bulk import bulk_upsert
from cdr.lifecycle.events import CONTENT_EPOCH
from cdr.models import CallEvent, ReportDay, Tenant
from cdr.reports.metrics import COUNTERS

pytestmark = pytest.mark.django_db


def _event(fingerprint: str, payload: dict, observed_at: datetime) -> dict:
    return {
        "fingerprint": fingerprint,
        "call_id": "bulk@test",
        "type": "ringing",
        "status": "accepted",
        "reason": "",
        "observed_at": observed_at,
        "source": "sink",
        "payload": payload,
        "received_at": observed_at,
        "content_at": CONTENT_EPOCH,
    }


def test_datetimes_payloads_and_unsigned_ids_round_trip():
    at = datetime(2026, 11, 26, 15, 4, 5, 123456, tzinfo=UTC)
    paris = datetime(2026, 11, 26, 16, 4, 5, tzinfo=timezone(timedelta(hours=1)))
    tenant = {"time_zone": "UTC", "created_at": at}
    bulk_upsert(
        Tenant, [{"id": 2**64 - 1, "name": "top", **tenant}, {"id": 7, "name": "seven", **tenant}], conflict=["id"]
    )
    bulk_upsert(
        CallEvent,
        [_event("a" * 32, {"text": "é ☎ \u2028", "n": 1.5, "list": [None, True]}, at), _event("b" * 32, {}, paris)],
        conflict=["fingerprint", "scope", "content_at"],
    )
    assert sorted(Tenant.objects.values_list("id", "name")) == [(7, "seven"), (2**64 - 1, "top")]
    stored = dict(CallEvent.objects.values_list("fingerprint", "observed_at"))
    assert stored == {"a" * 32: at, "b" * 32: paris}
    assert CallEvent.objects.get(fingerprint="a" * 32).payload == {"text": "é ☎ \u2028", "n": 1.5, "list": [None, True]}
    bulk_upsert(ReportDay, [_day(date(2026, 11, 26), 3)], conflict=_DAY_KEY, update=["attempts"], merge=_ADD)
    bulk_upsert(ReportDay, [_day(date(2026, 11, 26), 2)], conflict=_DAY_KEY, update=["attempts"], merge=_ADD)
    assert list(ReportDay.objects.values_list("day", "attempts")) == [(date(2026, 11, 26), 5)]


def test_an_integer_past_64_bits_in_a_payload_is_stored_too():
    """The fast JSON encoder refuses it; the row must not fail for it (the stdlib's encoder takes over)."""
    at = datetime(2026, 11, 26, tzinfo=UTC)
    bulk_upsert(
        CallEvent,
        [_event("c" * 32, {"huge": 2**80, "neg": -(2**70)}, at)],
        conflict=["fingerprint", "scope", "content_at"],
    )
    row = CallEvent.objects.get()
    assert row.payload == {"huge": 2**80, "neg": -(2**70)} and row.observed_at == at


_DAY_KEY = ["day", "tenant_id", "direction", "status", "sip_code", "initiator"]
_ADD = {"attempts": "{old} + {new}"}


def _day(day: date, calls: int) -> dict:
    return {
        "day": day,
        "tenant_id": 7,
        "direction": "inbound",
        "status": "completed",
        "sip_code": 200,
        "initiator": "caller",
        **dict.fromkeys(COUNTERS, 0),
        "attempts": calls,
    }
