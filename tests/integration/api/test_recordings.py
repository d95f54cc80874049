"""Recording summary and has_recording on /api/v1/calls/: a flag kept whichever row comes first."""

from urllib.parse import quote

import pytest
from django.utils import timezone

from cdr.models import Call, Recording
from cdr.services import events_ingest
from cdr.services.gateways import gateway_create
from cdr.services.recordings import recordings_attach_calls
from tests.support.factories import call, event
from tests.support.tenants import TENANT_A, TENANT_B, add_recording

pytestmark = pytest.mark.django_db

LIST = "/api/v1/calls/"


@pytest.fixture
def recorded(calls, local_recordings):
    """Tenant A's answered call has two recordings (one deleted by retention); B's has one."""
    a, b = calls
    first = add_recording(TENANT_A, a.answered, seconds=1.5)
    second = add_recording(TENANT_A, a.answered, seconds=0.5)
    Recording.objects.filter(pk=second.pk).update(deleted_at=timezone.now())
    add_recording(TENANT_B, b.answered)
    return a, b, first


def flags():
    return dict(Call.objects.values_list("call_id", "has_recording"))


def test_the_flag_is_set_when_the_recording_comes_after_the_call(recorded):
    a, b, _ = recorded
    recorded_calls = {c for c, flag in flags().items() if flag}
    assert recorded_calls == {a.answered, b.answered}


def test_the_flag_is_set_when_the_recording_comes_before_the_call(db, local_recordings):
    add_recording(TENANT_A, "early@gw")
    assert not Call.objects.filter(call_id="early@gw").exists()
    events_ingest(events=[event("ringing", 0.2, call("early@gw")), event("ringing", 0.3, call("plain@gw"))])
    assert flags() == {"early@gw": True, "plain@gw": False}


def test_attaching_an_orphan_sets_the_flag(db, local_recordings):
    events_ingest(events=[event("ringing", 0.2, call("late@gw"))])
    add_recording(TENANT_A, "late@gw")
    # As if the flag had been missed (a row written before this code): the attach sweep repairs it.
    Call.objects.update(has_recording=False)
    Recording.objects.update(call_leg=None)
    assert recordings_attach_calls() == 1
    assert flags() == {"late@gw": True}


def test_has_recording_filter(api, recorded):
    a, _, _ = recorded
    yes = {r["call_id"] for r in api.get(LIST, {"has_recording": "true"}).json()["results"]}
    no = {r["call_id"] for r in api.get(LIST, {"has_recording": "false"}).json()["results"]}
    assert yes == {a.answered}
    assert no == set(a.all) - {a.answered}
    response = api.get(LIST, {"has_recording": "yes"})
    assert response.status_code == 400 and "has_recording" in response.json()


def test_list_summary_in_one_query_for_the_whole_page(api, recorded, django_assert_max_num_queries):
    a, _, _ = recorded
    api.get(LIST)  # the token's last_used_at is touched once a minute: not in the count below
    with django_assert_max_num_queries(4) as queries:  # token, memberships, page, recordings of the page
        response = api.get(LIST, {"page_size": 1000})
    assert sum("cdr_recording" in q["sql"] for q in queries.captured_queries) == 1
    records = {r["call_id"]: r for r in response.json()["results"]}
    assert records[a.answered]["has_recording"] is True
    assert records[a.answered]["recording_summary"] == {
        "count": 2,
        "available": 1,
        "wav_ready": 1,
        "duration_ms": 2000,
        "formats": ["stereo_pcm"],
    }
    assert records[a.failed]["recording_summary"] == {
        "count": 0,
        "available": 0,
        "wav_ready": 0,
        "duration_ms": 0,
        "formats": [],
    }


def test_a_page_without_recorded_calls_does_not_ask_for_recordings(api, recorded, django_assert_max_num_queries):
    api.get(LIST)
    with django_assert_max_num_queries(3) as queries:
        assert api.get(LIST, {"has_recording": "false"}).status_code == 200
    assert not any("cdr_recording" in q["sql"] for q in queries.captured_queries)


def test_detail_lists_the_recordings_with_their_media_links(api, recorded, django_assert_max_num_queries):
    a, _, first = recorded
    api.get(LIST)
    # token, memberships, call + hangup, transfers, events, recordings
    with django_assert_max_num_queries(6):
        body = api.get(f"{LIST}{quote(a.answered)}/").json()
    assert body["recording_summary"]["count"] == 2
    live, deleted = body["recordings"]
    assert live["id"] == first.pk and live["media"] == f"http://testserver/api/v1/recordings/{first.pk}/media"
    assert live["variants"] == ["wav", "original"] and live["duration_ms"] == 1500
    assert deleted["variants"] == [] and deleted["deleted_at"].endswith("Z")
    assert api.get(f"{LIST}{quote(a.failed)}/").json()["recordings"] == []


def test_another_tenants_recording_of_the_call_id_is_not_listed(api, recorded):
    """A gateway's recording of a call it may not report stays unlinked at its own tenant."""
    a, _, _ = recorded
    intruder = gateway_create(name="edge-b", tenant_ids=[TENANT_B]).gateway
    theirs = add_recording(TENANT_B, a.answered)
    Recording.objects.filter(pk=theirs.pk).update(gateway=intruder, call_leg=None)
    body = api.get(f"{LIST}{quote(a.answered)}/").json()
    assert body["recording_summary"]["count"] == 2 and theirs.pk not in {r["id"] for r in body["recordings"]}
    records = {r["call_id"]: r for r in api.get(LIST).json()["results"]}
    assert records[a.answered]["recording_summary"]["count"] == 2


def test_an_agent_legs_tenant_0_recording_from_the_sink_is_listed_on_the_leg(django_user_model):
    """The in-process sink (trusted) records agent legs as tenant 0; the leg takes its parent's
    tenant. Linked to the leg, the recording is the leg's: detail, summary and admin filter."""
    from cdr.admin.filters import HasRecordingFilter
    from cdr.api.selectors import call_api_get, recording_summaries
    from cdr.services.recordings import recording_store

    inbound = call("in-t0@gw", tenant_id=9)
    leg = call("leg-t0@gw", tenant_id=0, direction="outbound", scenario="transfer_agent", correlation_id="in-t0@gw")
    events_ingest(events=[event("ringing", 0, inbound), event("ringing", 5, leg)])
    recording_store(
        call_id="leg-t0@gw",
        tenant_id=0,
        fmt="sn3",
        codec="pcmu",
        sample_rate=8000,
        channels=1,
        size=3,
        sha256="a" * 64,
        storage_key="k",
    )
    root = django_user_model.objects.create_superuser("root-t0", "r@x", "pw")
    found, _, recordings = call_api_get(user=root, call_id="leg-t0@gw")
    assert found.tenant_id == 9 and found.has_recording and len(recordings) == 1
    assert recording_summaries(calls=[found])["leg-t0@gw"]["count"] == 1
    recorded = Call.objects.filter(HasRecordingFilter(None, {}, Call, None).condition())
    assert list(recorded.values_list("call_id", flat=True)) == ["leg-t0@gw"]
