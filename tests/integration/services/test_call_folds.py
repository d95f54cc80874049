"""The stored fold of a call (CallFold): merged with each batch's new events, equal to the fold of the log."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cdr.lifecycle.events import event_from_row
from cdr.lifecycle.fold import derive_call
from cdr.lifecycle.state import counting_scope, state_from_json, state_of
from cdr.models import Call, CallFold, EventStatus, Gateway
from cdr.models import CallEvent as Log
from cdr.services import events_ingest
from cdr.services.erasure import calls_erase, erasure_selector
from cdr.services.gateways import gateway_create
from tests.support.factories import T0, bye, call, event, iso

pytestmark = pytest.mark.django_db


def labelled(kind, at_s, to, call_id="c1@gw", **over):
    return event(kind, at_s, {**call(call_id, **over), "labels": {"to": to}})


def log_events(call_id):
    rows = Log.objects.filter(call_id=call_id, status=EventStatus.ACCEPTED).values_list("payload", "observed_at")
    return [event_from_row(p, at) for p, at in rows]


def stored_parts(call_id):
    return {int(s): state_from_json(call_id, obj) for s, obj in CallFold.objects.get(call_id=call_id).parts.items()}


def log_parts(call_id):
    grouped = defaultdict(list)
    for e in log_events(call_id):
        grouped[counting_scope(e)].append(e)
    return {scope: state_of(call_id, evs) for scope, evs in grouped.items()}


def record_row(call_id):
    return Call.objects.filter(call_id=call_id).values("status", "labels", "ended_at", "established_at").get()


def test_the_stored_fold_is_the_fold_of_the_log_after_each_batch_whatever_the_order():
    batches = [
        [labelled("ringing", 1, "+331")],
        [labelled("established", 5, "+332"), bye(30, 30)],
        [labelled("established", 9, "+333")],
        [bye(25, 25, initiator="local")],  # an earlier end, delivered last, decides
    ]
    for batch in batches:
        events_ingest(events=batch)
        assert stored_parts("c1@gw") == log_parts("c1@gw")
    record = record_row("c1@gw")
    reference = derive_call("c1@gw", log_events("c1@gw"))
    assert (record["labels"], record["ended_at"]) == ({"to": "+333"}, T0 + timedelta(seconds=25))
    assert (reference.labels, reference.ended_at) == (record["labels"], record["ended_at"])


def test_a_copy_observed_earlier_moves_the_labelled_event_back_in_the_stored_fold():
    """The log keeps a repeat's earliest observation (LEAST): the fold merges the repeat's sighting too."""
    events_ingest(events=[labelled("ringing", 5, "+331"), labelled("established", 10, "+332")])
    assert record_row("c1@gw")["labels"] == {"to": "+332"}
    early = labelled("established", 1, "+332")  # the same content, seen earlier
    assert events_ingest(events=[early]).duplicate == 1
    assert record_row("c1@gw")["labels"] == {"to": "+331"} == derive_call("c1@gw", log_events("c1@gw")).labels
    assert stored_parts("c1@gw") == log_parts("c1@gw")


def test_a_batch_on_a_call_with_a_stored_fold_does_not_read_the_calls_history():
    events_ingest(events=[labelled("established", 1 + i, str(i)) for i in range(50)])
    with CaptureQueriesContext(connection) as ctx:
        events_ingest(events=[labelled("established", 99, "new")])
    read_log = [q["sql"] for q in ctx.captured_queries if 'FROM "cdr_callevent"' in q["sql"] and "payload" in q["sql"]]
    assert read_log == []
    assert record_row("c1@gw")["labels"] == {"to": "new"}


@pytest.mark.parametrize("damage", ["stale", "other-version"])
def test_a_stale_or_outdated_fold_is_rebuilt_from_the_log(damage):
    """A stale row is what migration 0023 leaves for the calls logged before it."""
    events_ingest(events=[labelled("ringing", 1, "+331"), labelled("established", 5, "+332")])
    fold = CallFold.objects.get()
    fold.parts = CallFold.STALE if damage == "stale" else {s: {**obj, "v": -1} for s, obj in fold.parts.items()}
    fold.save()
    events_ingest(events=[bye(30, 30)])
    assert record_row("c1@gw")["labels"] == {"to": "+332"}
    assert record_row("c1@gw")["status"] == "completed"
    assert stored_parts("c1@gw") == log_parts("c1@gw")


def test_events_a_gateway_may_not_report_are_held_in_their_own_part_and_count_once_it_may():
    """GatewayTenants.counted decides at each refresh: its verdict changes without rebuilding the fold."""
    edge = gateway_create(name="edge-7", tenant_ids=[7]).gateway
    mine = call("c1@gw", tenant_id=0)
    # The gateway's tenant-0 BYE comes first; the call's tenant (9) comes after, from the sink.
    events_ingest(events=[dict(bye(30, 30, mine), gateway_id=edge.pk)], source="http")
    events_ingest(events=[event("established", 1, call("c1@gw", tenant_id=9))])
    assert set(stored_parts("c1@gw")) == {0, edge.pk}
    assert record_row("c1@gw")["status"] == "established"  # edge-7 may not report tenant 9
    Gateway.objects.filter(pk=edge.pk).update(tenant_ids=[7, 9])
    events_ingest(events=[event("ringing", 0.5, call("c1@gw", tenant_id=9))])
    assert record_row("c1@gw")["status"] == "completed"
    assert stored_parts("c1@gw") == log_parts("c1@gw")


def test_erasure_marks_the_fold_stale_and_the_next_batch_folds_the_masked_log():
    events_ingest(events=[labelled("ringing", 1, "+331"), labelled("established", 5, "+332")])
    assert CallFold.objects.filter(call_id="c1@gw").exists()
    calls_erase(tenant_id=7, selector=erasure_selector(call_id="c1@gw"), apply=True)
    assert CallFold.objects.get(call_id="c1@gw").parts == CallFold.STALE
    events_ingest(events=[bye(30, 30)])
    assert stored_parts("c1@gw") == log_parts("c1@gw")
    assert record_row("c1@gw")["labels"] == derive_call("c1@gw", log_events("c1@gw")).labels


def test_a_repeat_logged_as_rejected_does_not_enter_the_fold():
    events_ingest(events=[event("ringing", 1, call("c1@gw", tenant_id=7))])
    intruder = event("established", 2, call("c1@gw", tenant_id=8))  # refused: the call is tenant 7's
    assert events_ingest(events=[intruder]).rejected == 1
    again = dict(intruder, observed_at=iso(T0))  # the same content again, earlier
    events_ingest(events=[again])
    assert record_row("c1@gw")["established_at"] is None
    assert stored_parts("c1@gw") == log_parts("c1@gw")


def test_every_call_with_accepted_events_has_a_fold_so_a_call_without_one_starts_from_its_batch():
    events_ingest(events=[event("ringing", 1), event("ringing", 2, call("c2@gw")), bye(3, 3, call("c3@gw"))])
    bridge = {"type": "bridge_started", "observed_at": iso(T0), "inbound_call_id": "c5@gw", "outbound_call_id": "x@gw"}
    events_ingest(events=[event("ringing", 1, call("c4@gw", tenant_id=0)), bridge])
    logged = set(Log.objects.filter(status=EventStatus.ACCEPTED).values_list("call_id", flat=True))
    assert logged == set(CallFold.objects.values_list("call_id", flat=True))
    for call_id in logged:
        assert stored_parts(call_id) == log_parts(call_id)
