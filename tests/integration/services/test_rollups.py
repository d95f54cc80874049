"""Rollups kept by the write path equal a direct aggregate of the raw rows, whatever the delivery."""

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cdr import simulator
from cdr.models import Call, ReportPeak, ReportShare, ReportSlot
from cdr.selectors.reports import ReportQuery, rollups_pending
from cdr.services import events_ingest
from cdr.services.events import calls_expire
from cdr.services.recordings import recording_store
from cdr.services.reports import report_summary_fresh as report_summary
from cdr.services.rollups import rollups_catch_up
from cdr.tasks import reports as tasks_reports
from tests.support.factories import T0, bye, call, event, failed
from tests.support.reports import EventCollector, assert_rollups_match_raw, ingest_messily, rollup_state

pytestmark = pytest.mark.django_db


def _simulated(n, seed, base_time):
    calls = simulator.generate(n, seed=seed, base_time=base_time, tenants=3, interarrival=240)
    sink = EventCollector()
    simulator.run(calls, sink, threads=2, seed=seed)
    return sink.events


def test_simulated_traffic_delivered_with_duplicates_reordering_and_late_events(base_time):
    events = _simulated(400, 3, base_time)
    ingest_messily(events, seed=5)
    assert Call.objects.count() > 300
    # Ingestion only queued the legs; the catch-up counts each exactly once.
    assert ReportShare.objects.count() == 0 and rollups_pending() == Call.objects.count()
    assert rollups_catch_up(limit=100) == Call.objects.count()
    assert ReportShare.objects.count() == Call.objects.count() and rollups_pending() == 0
    assert_rollups_match_raw()


def test_redelivering_everything_changes_nothing(base_time):
    events = _simulated(120, 4, base_time)
    ingest_messily(events, seed=1)
    before = rollup_state()
    ingest_messily(events, seed=2)
    assert rollup_state() == before
    assert_rollups_match_raw()


def test_expiry_and_recordings_before_and_after_their_call(base_time, settings):
    settings.CDR_RINGING_TIMEOUT = 60
    settings.CDR_ESTABLISHED_TIMEOUT = 600
    started = base_time + timedelta(hours=3)
    at = [(started + timedelta(minutes=7 * i)).isoformat() for i in range(12)]
    metas = [call(call_id=f"x{i}", tenant_id=9, started_at=at[i]) for i in range(12)]
    recording_store(  # before its call exists
        tenant_id=9, call_id="x1", fmt="sn3", codec="pcma", sample_rate=8000, channels=2, size=1, sha256="a" * 64,
        storage_key="k1", wav_ready=True,
    )  # fmt: skip
    events = []
    for i, m in enumerate(metas):
        events.append(event("ringing", 1, m))
        if i % 3 == 0:
            events.append(failed(2, 2, m, sip_code=(486, 503)[i % 2]))
        elif i % 3 == 1:
            events += [event("established", 2 + i, m), bye(60, 60, m, duration_ms=55_000)]
        else:
            events.append(event("established", 3, m))  # never ends: expired below
    events_ingest(events=events)
    recording_store(  # after its call
        tenant_id=9, call_id="x4", fmt="sn3", codec="pcma", sample_rate=8000, channels=2, size=1, sha256="b" * 64,
        storage_key="k2", wav_ready=True,
    )  # fmt: skip
    assert calls_expire(now=datetime.now(tz=base_time.tzinfo)) == 4
    assert Call.objects.filter(status="expired").count() == 4
    summary = report_summary(ReportQuery(9, date(2026, 3, 28), date(2026, 3, 29), "day", ZoneInfo("UTC")))
    assert summary["total"]["failed"] == 4
    assert summary["total"]["recording_coverage"] == round(2 / 8, 4)
    assert_rollups_match_raw()


def test_a_late_tenant_moves_an_agent_leg_between_tenants(base_time):
    inbound = call(call_id="in1", tenant_id=4, started_at=base_time.isoformat())
    agent = call(
        call_id="ag1",
        tenant_id=0,
        direction="outbound",
        scenario="transfer_agent",
        correlation_id="in1",
        started_at=(base_time + timedelta(seconds=5)).isoformat(),
    )
    # The agent leg first, with tenant 0: counted under tenant 0 until its inbound leg arrives.
    events_ingest(events=[event("ringing", 6, agent), event("established", 8, agent)])
    rollups_catch_up()
    assert set(ReportSlot.objects.filter(attempts__gt=0).values_list("tenant_id", flat=True)) == {0}
    events_ingest(
        events=[
            event("ringing", 1, inbound),
            event("established", 2, inbound),
            event("transfer_started", 4, inbound, target_uri="sip:agent@x"),
            {"type": "bridge_started", "observed_at": (base_time + timedelta(seconds=9)).isoformat(),
             "inbound_call_id": "in1", "outbound_call_id": "ag1"},
        ]
    )  # fmt: skip
    rollups_catch_up()
    live = {}
    for tenant, n in ReportSlot.objects.values_list("tenant_id", "attempts"):
        live[tenant] = live.get(tenant, 0) + n
    assert live == {0: 0, 4: 2}
    summary = report_summary(ReportQuery(4, date(2026, 3, 28), date(2026, 3, 28), "day", ZoneInfo("UTC")))
    assert (summary["total"]["transfers_attempted"], summary["total"]["transfers_bridged"]) == (1, 1)
    assert_rollups_match_raw()


def test_random_event_sequences_property(base_time):
    rng = random.Random(11)
    for round_ in range(3):
        events = []
        for i in range(40):
            m = call(
                call_id=f"r{round_}-{i}",
                tenant_id=rng.choice([1, 2]),
                direction=rng.choice(["inbound", "outbound"]),
                started_at=(base_time + timedelta(minutes=rng.randrange(0, 60 * 30))).isoformat(),
            )
            steps = [event("ringing", rng.uniform(0, 3), m)]
            if rng.random() < 0.7:
                steps.append(event("established", rng.uniform(3, 9), m))
                steps.append(bye(60, rng.uniform(20, 300), m, initiator=rng.choice(["local", "remote"])))
            else:
                steps.append(failed(5, 5, m, sip_code=rng.choice([404, 480, 486, 487, 503, 603])))
            events += steps
        ingest_messily(events, seed=round_, batch=rng.choice([1, 7, 30]))
        assert_rollups_match_raw()


def test_peak_concurrency_follows_ends_arriving_late():
    at = [(T0 + timedelta(seconds=20 * i)).isoformat() for i in range(10)]
    metas = [call(call_id=f"o{i}", tenant_id=3, started_at=at[i]) for i in range(10)]
    events_ingest(events=[event("established", 1, m) for m in metas])
    q = ReportQuery(3, date(2026, 3, 28), date(2026, 3, 29), "day", ZoneInfo("UTC"))
    # Not ended yet: all ten are in progress at once.
    assert [b["peak_concurrent"] for b in report_summary(q)["buckets"]] == [0, 10]
    # Each ends 30 s after it started: never more than two at once.
    events_ingest(events=[bye(400, 20 * i + 30, m) for i, m in enumerate(metas)])
    # The periodic task cleans what the write path marked (what a reader would otherwise do).
    assert ReportPeak.objects.filter(dirty__gt=0).exists()
    assert tasks_reports.report_peaks_refresh() > 0
    assert not ReportPeak.objects.filter(dirty__gt=0).exists()
    assert [b["peak_concurrent"] for b in report_summary(q)["buckets"]] == [0, 2]
    assert_rollups_match_raw()
