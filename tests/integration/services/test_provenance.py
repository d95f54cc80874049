"""events_ingest with the gateway the HTTP edge stamped on each event: what the record depends on."""

from __future__ import annotations

import pytest

from cdr.models import Call, CallEvent, Gateway, Hangup
from cdr.services import events_ingest
from cdr.services.gateways import gateway_create
from tests.support.factories import bye, call, event

pytestmark = pytest.mark.django_db

INBOUND = call("in@gw", tenant_id=9)
LEG = call("leg@gw", tenant_id=0, direction="outbound", scenario="transfer_agent", correlation_id="in@gw")


def from_gateway(gateway: Gateway, *events: dict) -> list[dict]:
    """A batch as the edge publishes it."""
    return [dict(e, gateway_id=gateway.pk) for e in events]


def leg_tenant() -> int:
    return Call.objects.get(call_id="leg@gw").tenant_id


@pytest.mark.parametrize("a_first", [True, False], ids=["a-first", "both-first"])
def test_each_gateways_copy_of_an_event_is_its_own_and_the_record_does_not_depend_on_their_order(a_first):
    """Issue 16, item 3: the log kept the first delivery only, so a gateway could pre-empt another's
    event with the same content; now each deliverer's copy counts (or not) for itself."""
    a = gateway_create(name="edge-a", tenant_ids=[7]).gateway
    both = gateway_create(name="edge-79", tenant_ids=[7, 9]).gateway
    leg = [event("ringing", 5, LEG), bye(9, 9, LEG)]
    for gateway in (a, both) if a_first else (both, a):
        assert events_ingest(events=from_gateway(gateway, *leg), source="http").accepted == 2
    assert events_ingest(events=from_gateway(a, *leg), source="http").duplicate == 2  # a re-post is one copy
    events_ingest(events=[event("ringing", 0, INBOUND)])
    # edge-a's copies name no tenant it may report: the leg keeps tenant 0 whoever came first.
    assert leg_tenant() == 0
    assert {e.scope for e in CallEvent.objects.filter(call_id="leg@gw")} == {a.pk, both.pk}
    events_ingest(events=[event("established", 1, INBOUND)])  # refreshes the leg from the log
    assert leg_tenant() == 0


def test_the_gateways_current_tenants_decide_and_a_deleted_gateway_may_report_none(caplog):
    a = gateway_create(name="edge-a", tenant_ids=[7]).gateway
    events_ingest(events=from_gateway(a, event("ringing", 5, LEG)), source="http")
    events_ingest(events=[event("ringing", 0, INBOUND)])
    assert leg_tenant() == 0
    Gateway.objects.filter(pk=a.pk).update(tenant_ids=[7, 9])
    events_ingest(events=[event("established", 1, INBOUND)])
    assert leg_tenant() == 9
    Gateway.objects.filter(pk=a.pk).delete()  # revoking keeps the row (and its tenants); deleting does not
    with caplog.at_level("WARNING", logger="cdr.ingest"):
        events_ingest(events=[bye(20, 20, LEG)])  # the leg is derived again
    assert leg_tenant() == 0
    assert f"gateway '#{a.pk} (deleted)' may not report tenant 9: leg leg@gw keeps tenant 0" in caplog.text


@pytest.mark.parametrize("intruder_first", [True, False], ids=["intruder-first", "intruder-last"])
def test_a_gateway_cannot_pull_another_gateways_leg_into_its_own_tenant(intruder_first):
    """An event naming the intruder's own call as the leg's parent, observed earlier than the owner's
    events: the leg must not take the intruder's tenant (it stays 0, and keeps the owner's data)."""
    intruder = gateway_create(name="edge-a", tenant_ids=[7]).gateway
    owner = gateway_create(name="edge-b", tenant_ids=[9]).gateway
    events_ingest(events=from_gateway(intruder, event("ringing", 0, call("mine@evil", tenant_id=7))), source="http")
    fake = from_gateway(intruder, event("ringing", 1, {**LEG, "correlation_id": "mine@evil"}))
    genuine = from_gateway(
        owner, event("ringing", 0, INBOUND), event("ringing", 5, LEG), event("established", 6, LEG), bye(30, 30, LEG)
    )
    for batch in [fake, genuine] if intruder_first else [genuine, fake]:
        events_ingest(events=batch, source="http")
    leg = Call.objects.get(call_id="leg@gw")
    assert leg.tenant_id != 7
    assert (leg.status, leg.billable_ms) == ("completed", 24_000)


def test_an_end_that_stops_counting_leaves_no_hangup_row():
    """Another gateway's bye came before the call's tenant was known: it counted, then no longer."""
    intruder = gateway_create(name="edge-a", tenant_ids=[7]).gateway
    owner = gateway_create(name="edge-b", tenant_ids=[9]).gateway
    unknown_tenant = {**INBOUND, "tenant_id": 0}
    events_ingest(events=from_gateway(intruder, bye(2, 2, unknown_tenant, sip_code=487)), source="http")
    assert Hangup.objects.filter(call__call_id="in@gw").exists()
    events_ingest(
        events=from_gateway(owner, event("ringing", 0, INBOUND), event("established", 1, INBOUND)), source="http"
    )
    inbound = Call.objects.get(call_id="in@gw")
    assert (inbound.tenant_id, inbound.status, inbound.ended_at) == (9, "established", None)
    assert not Hangup.objects.filter(call=inbound).exists()
