"""A gateway cannot attach a recording to another tenant's call by posting it before the call:
a recording posted by a gateway counts only for calls whose tenant that gateway may report."""

from __future__ import annotations

import logging

import pytest

from cdr.models import Call, Gateway, Recording
from cdr.services import events_ingest, recording_store, recordings_attach_calls
from cdr.services.gateways import gateway_create
from tests.support.audio import conversation
from tests.support.factories import call, event
from tests.support.http import GatewayClient, upload
from tests.support.recordings import artifact, meta

pytestmark = pytest.mark.django_db(transaction=True)

VICTIM = "victim@gw"


@pytest.fixture
def intruder(db):
    return GatewayClient(gateway_create(name="edge-a", tenant_ids=[7]))


@pytest.fixture
def owner(db):
    return GatewayClient(gateway_create(name="edge-b", tenant_ids=[9]))


def report_call(gw, call_id=VICTIM):
    response = gw.events([event("ringing", 0, call(call_id, tenant_id=9), event_id=f"{call_id}-1")])
    assert response.status_code == 200 and response.json()["accepted"] == 1, response.content
    return Call.objects.get(call_id=call_id)


@pytest.mark.parametrize("tenant", [0, 7])
def test_a_recording_posted_before_another_tenants_call_is_not_linked_to_it(
    local_storage, sink, intruder, owner, tenant, caplog
):
    response = upload(intruder, VICTIM, conversation(seed=61).blob, **{"X-CDR-Tenant-Id": str(tenant)})
    assert response.status_code == 201, response.content
    with caplog.at_level(logging.WARNING, logger="cdr.ingest"):
        victim = report_call(owner)
        assert recordings_attach_calls() == 0
    assert not victim.has_recording
    rec = Recording.objects.get(call_id=VICTIM)
    assert (rec.call_leg_id, rec.tenant_id, rec.gateway_id) == (None, tenant, Gateway.objects.get(name="edge-a").pk)
    warnings = [r.getMessage() for r in caplog.records if r.name == "cdr.ingest"]
    assert warnings and all("'edge-a'" in w and "tenant 9" in w and VICTIM in w for w in warnings), warnings
    # Once per call per run, not per recording or per query.
    assert len(warnings) == 2, warnings


@pytest.mark.parametrize("tenant", [0, 7])
def test_a_recording_posted_after_another_tenants_call_is_refused_at_the_edge(
    local_storage, sink, intruder, owner, tenant
):
    report_call(owner)
    response = upload(intruder, VICTIM, conversation(seed=62).blob, **{"X-CDR-Tenant-Id": str(tenant)})
    assert response.status_code == 403
    assert upload(owner, VICTIM, conversation(seed=63).blob, **{"X-CDR-Tenant-Id": "9"}).status_code == 201
    rec = Recording.objects.get(call_id=VICTIM)
    assert (rec.call_leg.call_id, rec.tenant_id, rec.gateway.name) == (VICTIM, 9, "edge-b")
    assert Call.objects.get(call_id=VICTIM).has_recording


def test_a_recording_posted_before_its_own_gateways_call_is_linked(local_storage, sink, owner, caplog):
    response = upload(owner, VICTIM, conversation(seed=64).blob, **{"X-CDR-Tenant-Id": "0"})
    assert response.status_code == 201, response.content
    with caplog.at_level(logging.WARNING, logger="cdr.ingest"):
        assert report_call(owner).has_recording
        recordings_attach_calls()
    rec = Recording.objects.get(call_id=VICTIM)
    assert (rec.call_leg.call_id, rec.tenant_id, rec.gateway.name) == (VICTIM, 9, "edge-b")
    assert Call.objects.get(call_id=VICTIM).has_recording
    assert not [r for r in caplog.records if r.name == "cdr.ingest"]


def test_a_gateway_allowed_the_tenant_later_gets_its_recording_linked(local_storage, sink, intruder, owner):
    upload(intruder, VICTIM, conversation(seed=65).blob, **{"X-CDR-Tenant-Id": "0"})
    assert not report_call(owner).has_recording
    assert recordings_attach_calls() == 0
    Gateway.objects.filter(name="edge-a").update(tenant_ids=[7, 9])
    assert recordings_attach_calls() == 1
    rec = Recording.objects.get(call_id=VICTIM)
    assert (rec.call_leg.call_id, rec.tenant_id) == (VICTIM, 9)
    assert Call.objects.get(call_id=VICTIM).has_recording


def test_the_in_process_sinks_recording_before_its_call_is_linked(local_storage, make_sink):
    sink = make_sink()
    sink.begin_recording(meta("own@gw", tenant_id=0), 8000, "pcmu")
    sink.finish_recording(artifact("own@gw", conversation(seed=66).blob))
    events_ingest(events=[event("ringing", 0, call("own@gw", tenant_id=9))])
    assert Call.objects.get(call_id="own@gw").has_recording
    recordings_attach_calls()
    rec = Recording.objects.get(call_id="own@gw")
    assert (rec.call_leg.call_id, rec.tenant_id, rec.gateway_id) == ("own@gw", 9, None)


def test_a_call_stored_between_the_edges_check_and_the_row_gives_the_recording_nothing(intruder, owner):
    """The sink keys a tenant-0 upload by the call row's tenant if it appeared meanwhile."""
    victim = report_call(owner)
    gateway = Gateway.objects.get(name="edge-a")
    rec, created = recording_store(
        tenant_id=9,
        call_id=VICTIM,
        fmt="sn3",
        codec="pcmu",
        sample_rate=8000,
        channels=1,
        size=3,
        sha256="a" * 64,
        storage_key="recordings/9/x.sn3",
        wav_ready=True,
        gateway_id=gateway.pk,
    )
    assert created and (rec.call_leg_id, rec.tenant_id) == (None, 0)
    victim.refresh_from_db()
    assert not victim.has_recording
