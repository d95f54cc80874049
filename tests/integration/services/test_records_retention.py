"""Record retention: expired calls go with everything hanging on them, rollups keep counting them."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command

from cdr.models import (
    Call,
    CallEvent,
    CallOwner,
    DeletionKind,
    Hangup,
    RecordDeletion,
    Recording,
    ReportDay,
    ReportPeak,
    ReportPending,
    ReportShare,
    Tenant,
    Transfer,
)
from cdr.services import events_ingest
from cdr.services.gateways import gateway_create
from cdr.services.peaks import report_peaks_refresh
from cdr.services.recordings import legal_hold_place, legal_hold_release
from cdr.services.records_retention import records_purge
from cdr.services.rollups import rollups_catch_up
from cdr.storage.backend import recordings_storage
from tests.support.factories import T0, call
from tests.support.records import call_events, call_seed, orphan_leg_seed, recording_seed
from tests.support.reports import rollup_state

pytestmark = pytest.mark.django_db

NOW = T0 + timedelta(days=40)
OLD, NEW = T0, NOW - timedelta(days=5)


@pytest.fixture
def seeded(local_recordings):
    call_seed("old@gw", 7, OLD)
    call_seed("new@gw", 7, NEW)
    call_seed("other@gw", 9, OLD)  # tenant 9 keeps its records forever
    keys = {c: recording_seed(c, t) for c, t in (("old@gw", 7), ("new@gw", 7), ("other@gw", 9))}
    Tenant.objects.filter(id=7).update(record_retention_days=30)
    return keys


def _attempts(tenant_id):
    return sum(ReportDay.objects.filter(tenant_id=tenant_id).values_list("attempts", flat=True))


def test_expired_records_go_with_everything_hanging_on_them(seeded):
    (run,) = records_purge(now=NOW)
    assert set(Call.objects.values_list("call_id", flat=True)) == {
        "new@gw", "new@gw-agent", "other@gw", "other@gw-agent"
    }  # fmt: skip
    gone = ["old@gw", "old@gw-agent"]
    assert not CallEvent.objects.filter(call_id__in=gone).exists()
    assert not CallOwner.objects.filter(call_id__in=gone).exists()
    assert not Recording.objects.filter(call_id__in=gone).exists()
    assert not recordings_storage().exists(seeded["old@gw"])
    assert recordings_storage().exists(seeded["new@gw"]) and recordings_storage().exists(seeded["other@gw"])
    kept = set(Call.objects.values_list("id", flat=True))
    for model, column in ((Hangup, "call_id"), (Transfer, "inbound_id"), (ReportShare, "call_id")):
        assert set(model.objects.values_list(column, flat=True)) <= kept
    assert Hangup.objects.count() == 4 and Transfer.objects.count() == 2
    # The audit row: who, when, which policy, how many.
    assert (run.tenant_id, run.kind, run.actor, run.policy) == (
        7, DeletionKind.RETENTION, "task cdr.records_purge", "record_retention_days=30"
    )  # fmt: skip
    assert (run.calls, run.events, run.recordings, run.held) == (2, 8, 1, 0)
    assert run.cutoff == (NOW - timedelta(days=30)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert run.finished_at is not None and RecordDeletion.objects.count() == 1
    assert Tenant.objects.get(id=7).records_purged_before == run.cutoff


def test_rollups_keep_counting_deleted_calls_even_those_not_applied_yet(seeded):
    assert ReportPending.objects.exists()  # nothing caught up yet: retention applies the shares first
    records_purge(now=NOW)
    rollups_catch_up()
    assert _attempts(7) == 4 and _attempts(9) == 2


def _peaks():
    report_peaks_refresh()
    return set(ReportPeak.objects.filter(peak__gt=0).values_list("tenant_id", "slot", "peak"))


def test_rollups_are_unchanged_by_retention_and_by_a_rebuild_after_it(seeded):
    before, peaks = rollup_state(), _peaks()
    assert (7, OLD, 2) in peaks
    records_purge(now=NOW)
    assert rollup_state() == before and _peaks() == peaks
    out = io.StringIO()
    call_command("cdr_reports_rebuild", stdout=out)
    assert rollup_state() == before and _peaks() == peaks
    assert "tenant 7: kept the rollups before" in out.getvalue()
    call_command("cdr_reports_rebuild", "--tenant", "7", stdout=io.StringIO())
    assert rollup_state() == before


def test_a_held_call_is_kept_until_released_and_counted_once(seeded):
    legal_hold_place(call_id="old@gw", reason="litigation")
    before = rollup_state()
    (run,) = records_purge(now=NOW)
    assert Call.objects.filter(call_id="old@gw").exists() and recordings_storage().exists(seeded["old@gw"])
    assert not Call.objects.filter(call_id="old@gw-agent").exists()  # not held itself
    assert (run.calls, run.held) == (1, 1)
    call_command("cdr_reports_rebuild", stdout=io.StringIO())
    assert rollup_state() == before
    legal_hold_release(call_id="old@gw")
    (run,) = records_purge(now=NOW)
    assert (run.calls, run.held) == (1, 0) and not Call.objects.filter(call_id="old@gw").exists()
    assert rollup_state() == before


def test_batches_are_bounded_and_all_expired_calls_go(local_recordings):
    for i in range(7):
        call_seed(f"b{i}@gw", 7, OLD + timedelta(minutes=i))
    for i in range(5):  # the same start: the keyset goes on by id
        call_seed(f"s{i}@gw", 7, OLD + timedelta(hours=1))
    legal_hold_place(call_id="s1@gw")
    Tenant.objects.filter(id=7).update(record_retention_days=30)
    (run,) = records_purge(now=NOW, batch_calls=3)
    assert (run.calls, run.held) == (23, 1)  # s1@gw-agent is not held itself
    assert list(Call.objects.values_list("call_id", flat=True)) == ["s1@gw"]


def test_a_late_event_of_a_deleted_call_is_refused_not_recreated(seeded):
    records_purge(now=NOW)
    before = rollup_state()
    late = call_events("old@gw", 7, OLD)
    result = events_ingest(events=late)
    assert result.accepted == 0 and result.rejected == len(late)
    assert all(reason.startswith("expired: ") for _, reason in result.outcomes[:5])
    assert result.kinds == [("rejected", "expired")] * len(late)  # the metric's reason class
    assert not Call.objects.filter(call_id__startswith="old@gw").exists()
    assert not CallEvent.objects.filter(call_id__startswith="old@gw").exists()
    assert rollup_state() == before
    # A call of tenant 7 inside its retention, and a tenant without one, are stored as always.
    fresh = call("fresh@gw", tenant_id=7, started_at=NEW.isoformat())
    old9 = call("old9@gw", tenant_id=9, started_at=OLD.isoformat())
    result = events_ingest(events=[{"type": "ringing", "observed_at": NEW.isoformat(), "call": fresh},
                                   {"type": "ringing", "observed_at": OLD.isoformat(), "call": old9}])  # fmt: skip
    assert result.accepted == 2


def test_no_policy_deletes_nothing(seeded):
    Tenant.objects.filter(id=7).update(record_retention_days=None)
    assert records_purge(now=NOW) == []
    assert Call.objects.count() == 6


def test_an_agent_leg_left_with_tenant_0_goes_with_its_call(local_recordings):
    # Reported with tenant 0 by a gateway that may not report tenant 7: it keeps 0 (no inheritance).
    edge = gateway_create(name="edge-9", tenant_ids=[9]).gateway
    orphan_leg_seed("old@gw", 7, OLD, edge.pk)
    orphan_leg_seed("new@gw", 7, NEW, edge.pk)
    call_seed("x9@gw", 9, OLD)
    assert Call.objects.get(call_id="old@gw-agent").tenant_id == 0
    Tenant.objects.filter(id=7).update(record_retention_days=30)
    (run,) = records_purge(now=NOW)
    assert set(Call.objects.values_list("call_id", flat=True)) == {"new@gw", "new@gw-agent", "x9@gw", "x9@gw-agent"}
    assert not CallEvent.objects.filter(call_id__in=["old@gw", "old@gw-agent"]).exists()
    kept = set(Call.objects.values_list("id", flat=True))
    assert set(Hangup.objects.values_list("call_id", flat=True)) <= kept
    assert (run.calls, run.events) == (2, 8)  # the leg's 3 events with the call's 5 (its bridge included)
