"""The event log's monthly partitions on PostgreSQL: created ahead, a default for the rest, rows moved
out of it when their month is created, idempotent ingestion across them, dropped by retention."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from cdr.db import partitions
from cdr.db.partitions import Month
from cdr.lifecycle.events import CONTENT_EPOCH, content_time, parse_event
from cdr.models import Call, CallEvent, Tenant
from cdr.services import events_ingest
from cdr.services.partitions import event_partitions_drop, event_partitions_ensure
from cdr.services.recordings import legal_hold_place, legal_hold_release
from cdr.services.records_retention import records_purge
from tests.support.records import call_events

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="partitions are PostgreSQL's"),
]

JAN, FEB = datetime(2031, 1, 10, 9, tzinfo=UTC), datetime(2031, 2, 10, 9, tzinfo=UTC)


def _where() -> dict[str, set[str]]:
    """Partition name -> call ids of the events in it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text, call_id FROM cdr_callevent")
        out: dict[str, set[str]] = {}
        for name, call_id in cursor.fetchall():
            out.setdefault(name, set()).add(call_id)
        return out


def _months() -> list[str]:
    with connection.cursor() as cursor:
        return [m.name for m in partitions.months(cursor)]


def test_partitions_are_created_ahead_and_only_once():
    created = event_partitions_ensure(now=datetime(2031, 11, 20, tzinfo=UTC), ahead=3)
    assert created == [f"cdr_callevent_p{m}" for m in ("203111", "203112", "203201", "203202")]
    assert event_partitions_ensure(now=datetime(2031, 11, 20, tzinfo=UTC), ahead=3) == []
    assert set(created) <= set(_months())


def test_rows_outside_the_created_months_go_to_the_default_and_undated_ones():
    event_partitions_ensure(now=JAN, ahead=0)
    events = call_events("jan@gw", 7, JAN) + call_events("far@gw", 7, datetime(2041, 5, 1, tzinfo=UTC))
    events_ingest(events=events)
    where = _where()
    # The bridge has no time in its content: the undated partition, whatever call it joins.
    assert where["cdr_callevent_p203101"] == {"jan@gw", "jan@gw-agent"}
    assert where["cdr_callevent_default"] == {"far@gw", "far@gw-agent"}
    assert where["cdr_callevent_undated"] == {"jan@gw", "far@gw"}
    assert set(CallEvent.objects.filter(type="bridge_started").values_list("content_at", flat=True)) == {CONTENT_EPOCH}


def test_a_month_created_later_takes_its_rows_out_of_the_default():
    events = call_events("feb@gw", 7, FEB)
    events_ingest(events=events)
    assert "cdr_callevent_p203102" not in _where()
    before = CallEvent.objects.count()
    assert event_partitions_ensure(now=FEB, ahead=0) == ["cdr_callevent_p203102"]
    where = _where()
    assert where["cdr_callevent_p203102"] == {"feb@gw", "feb@gw-agent"}
    assert "cdr_callevent_default" not in where
    assert CallEvent.objects.count() == before
    # A re-delivery after the move finds its row in the new partition: a duplicate, not a second row.
    again = events_ingest(events=events)
    assert again.accepted == 0 and again.duplicate == len(events)
    assert CallEvent.objects.count() == before


@pytest.mark.parametrize("order", ["same", "reversed"])
def test_repeated_and_reordered_batches_keep_one_row_per_event(order):
    event_partitions_ensure(now=JAN, ahead=1)
    events = call_events("a@gw", 7, JAN) + call_events("b@gw", 7, FEB)
    first = events_ingest(events=events)
    rows = list(CallEvent.objects.order_by("fingerprint").values_list("fingerprint", "scope", "content_at"))
    again = events_ingest(events=events if order == "same" else events[::-1])
    assert first.accepted == len(events) and again.duplicate == len(events)
    assert list(CallEvent.objects.order_by("fingerprint").values_list("fingerprint", "scope", "content_at")) == rows
    assert len({(fp, scope) for fp, scope, _ in rows}) == len(rows)


def test_a_later_copy_observed_earlier_keeps_its_row_and_partition():
    event_partitions_ensure(now=JAN, ahead=0)
    (ringing,) = [e for e in call_events("a@gw", 7, JAN) if e["type"] == "ringing"][:1]
    events_ingest(events=[ringing])
    earlier = dict(ringing, observed_at=(JAN - timedelta(days=40)).isoformat())  # observed in another month
    assert events_ingest(events=[earlier]).duplicate == 1
    (row,) = CallEvent.objects.filter(call_id="a@gw").values_list("observed_at", "content_at")
    assert row == (JAN - timedelta(days=40), JAN)


def test_content_at_in_sql_is_content_time_in_python():
    ends = {"ended_at": "2031-01-10T09:00:01.5+02:00"}
    raws = [
        *call_events("a@gw", 7, JAN),
        {"type": "bye", "call": {"started_at": "0001-01-01T00:00:00Z"}, "hangup": ends},
        {"type": "ringing", "call": {"started_at": "2031-02-30T00:00:00Z"}},
        {"type": "ringing", "call": {"started_at": "2031-02-03 00:00:00"}},
        {"type": "failed", "call": {"started_at": 5}, "hangup": {"ended_at": "2031-01-10T09:00:01.123456-14:00"}},
        {"type": ["ringing"], "call": {"started_at": "2031-02-03T00:00:00Z"}},
        {"type": "expired", "call_id": "x", "ended_at": "2031-02-03T00:00:00Z"},
        {"type": "ringing", "call": {"started_at": "1969-12-31T23:00:00-02:00"}},
        {"type": "ringing", "call": {"started_at": "2031-02-03T00:00:00+15:00"}},
        {"type": "ringing", "call": {"started_at": "2031-13-03T00:00:00Z"}},
        {"type": "ringing", "call": {"started_at": "2031-04-31T00:00:00Z"}},
        {"type": "ringing", "call": {"started_at": "2028-02-29T23:59:59.999999-00:30"}},
        {"type": "ringing", "call": {"started_at": "2031-02-29T00:00:00Z"}},
        {"type": "ringing", "call": {"started_at": "1970-12-31T23:00:00-02:00"}},
        {"type": "ringing", "call": {"started_at": "9998-12-31T23:00:00-02:00"}},
        {"type": "ringing", "call": {"started_at": "2031-01-01T00:00:00Z\n"}},
    ]
    received = datetime(2031, 3, 1, tzinfo=UTC)
    with connection.cursor() as cursor:
        for raw in raws:
            item = parse_event(raw, received_at=received)
            cursor.execute("SELECT cdr_event_content_at(%s::jsonb)", [json.dumps(item.payload)])
            assert cursor.fetchone()[0] == item.content_at == content_time(item.payload), raw


def _purge_everything_at(now: datetime) -> None:
    Tenant.objects.update(record_retention_days=30)
    records_purge(now=now)


def test_retention_drops_a_month_every_policy_passed_and_keeps_one_with_a_held_call(local_recordings):
    event_partitions_ensure(now=JAN, ahead=1)
    for n in range(3):
        events_ingest(events=call_events(f"jan{n}@gw", 7, JAN + timedelta(hours=n)))
        events_ingest(events=call_events(f"feb{n}@gw", 9, FEB + timedelta(hours=n)))
    legal_hold_place(call_id="feb1@gw", reason="court order")
    _purge_everything_at(datetime(2031, 6, 1, tzinfo=UTC))
    assert "cdr_callevent_p203101" not in _months()
    assert "cdr_callevent_p203102" in _months()  # the held call's month stays, whole
    assert set(Call.objects.values_list("call_id", flat=True)) == {"feb1@gw"}
    assert set(CallEvent.objects.values_list("call_id", flat=True)) == {"feb1@gw"}
    legal_hold_release(call_id="feb1@gw")
    _purge_everything_at(datetime(2031, 6, 2, tzinfo=UTC))
    assert "cdr_callevent_p203102" not in _months()
    assert not Call.objects.exists() and not CallEvent.objects.exists()


def test_a_month_is_kept_while_a_tenant_keeps_records_forever(local_recordings):
    event_partitions_ensure(now=JAN, ahead=0)
    events_ingest(events=call_events("jan@gw", 7, JAN))
    events_ingest(events=call_events("other@gw", 9, JAN))
    Tenant.objects.filter(id=7).update(record_retention_days=30)  # tenant 9: forever
    records_purge(now=datetime(2031, 6, 1, tzinfo=UTC))
    assert "cdr_callevent_p203101" in _months()
    assert _where()["cdr_callevent_p203101"] == {"other@gw", "other@gw-agent"}


def test_a_month_is_kept_while_a_stored_call_it_holds_events_of_is_not_expired(local_recordings):
    event_partitions_ensure(now=JAN, ahead=0)
    events_ingest(events=call_events("jan@gw", 7, JAN))
    events_ingest(events=call_events("kept@gw", 7, JAN))
    # Events whose content names January, of a call whose record starts after the horizon.
    Call.objects.filter(call_id="kept@gw").update(started_at=datetime(2031, 7, 1, tzinfo=UTC))
    Tenant.objects.update(record_retention_days=30)
    records_purge(now=datetime(2031, 6, 1, tzinfo=UTC))
    assert Month(2031, 1).name in _months()
    assert _where()[Month(2031, 1).name] == {"kept@gw"}
    assert event_partitions_drop() == []


def test_the_periodic_task_keeps_the_months_ahead_created(settings):
    from cdr.tasks import event_partitions_ensure as task

    settings.CDR_EVENT_PARTITIONS = {"MONTHS_AHEAD": 14}
    created = task.apply().get()
    assert created and created == sorted(created) and set(created) <= set(_months())
    assert task.apply().get() == []
