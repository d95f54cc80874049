"""cdr.records_purge on a real Celery worker while the same worker stores new and late events."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from cdr.models import Call, CallEvent, RecordDeletion, Tenant
from cdr.services import events_ingest
from tests.support.factories import T0
from tests.support.records import call_events

pytestmark = pytest.mark.e2e


def test_retention_task_deletes_expired_calls_while_ingestion_runs(broker_app, worker):
    old = []
    for i in range(150):
        old += call_events(f"old{i}@gw", 7, T0 + timedelta(minutes=i))
    for i in range(0, len(old), 400):
        events_ingest(events=old[i : i + 400])
    Tenant.objects.filter(id=7).update(record_retention_days=30)
    now = timezone.now().replace(microsecond=0)
    broker_app.send_task("cdr.records_purge", queue="cdr")
    # Meanwhile: new calls of the same tenant, and late copies of the expired calls' events.
    for i in range(30):
        broker_app.send_task("cdr.events_ingest", args=[call_events(f"new{i}@gw", 7, now)], queue="cdr")
        broker_app.send_task("cdr.events_ingest", args=[old[i * 16 : i * 16 + 8]], queue="cdr")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = RecordDeletion.objects.filter(finished_at__isnull=False).first()
        if done is not None and Call.objects.filter(call_id__startswith="new").count() == 60:
            break
        time.sleep(0.5)
    assert done is not None and done.actor == "task cdr.records_purge" and done.calls == 300
    # Late events never recreate an expired call, whichever side of a batch they landed on. A
    # last batch queued behind them all marks the end (a worker runs two at a time).
    broker_app.send_task("cdr.events_ingest", args=[call_events("last@gw", 7, now)], queue="cdr")
    while time.monotonic() < deadline and not Call.objects.filter(call_id="last@gw").exists():
        time.sleep(0.2)
    time.sleep(1)
    assert not Call.objects.filter(call_id__startswith="old").exists()
    assert not CallEvent.objects.filter(call_id__startswith="old").exists()
    assert Call.objects.filter(call_id__startswith="new").count() == 60
