import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from cdr.management.seed import calls_seed
from cdr.models import Call, Hangup, Tenant, Transfer

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)


def test_seed_writes_exactly_n_realistic_linked_calls():
    result = calls_seed(calls=5000, tenants=5, days=2, seed=7, now=NOW, chunk=1500)
    assert result.calls == Call.objects.count() == 5000
    assert set(Tenant.objects.values_list("id", flat=True)) == {1, 2, 3, 4, 5}
    assert Tenant.objects.get(id=2).time_zone == "America/New_York"
    starts = Call.objects.order_by("started_at").values_list("started_at", flat=True)
    assert NOW - timedelta(days=2) <= starts[0] and starts.last() <= NOW
    assert starts.last() > NOW - timedelta(hours=2)  # filled up to "now", not cut short
    assert {"completed", "failed", "expired"} <= set(Call.objects.values_list("status", flat=True).distinct())
    # Every ended call has its hangup; live ones (the last minutes) have none.
    assert Hangup.objects.count() == Call.objects.exclude(status__in=["ringing", "established"]).count()
    assert not Call.objects.filter(status__in=["ringing", "established"], started_at__lt=NOW - timedelta(minutes=3))
    # Transfers link an inbound leg to its agent leg, which names the inbound leg as correlation.
    transfers = Transfer.objects.select_related("inbound", "outbound")
    assert transfers.count() == result.transfers > 0
    for t in transfers[:50]:
        assert t.outbound.correlation_id == t.inbound.call_id and t.outbound.scenario == "transfer_agent"
        assert t.outbound.tenant_id == t.inbound.tenant_id and t.inbound.direction == "inbound"
        # Labels as the simulator's gateway sets them: the agent leg is the same caller to the agent.
        assert t.inbound.labels["to"] == t.inbound.labels["did"] == t.outbound.labels["did"]
        assert t.outbound.labels["from"] == t.inbound.labels["from"]
        assert t.outbound.labels["to"] == t.target_uri.removeprefix("sip:").split("@")[0]
    campaign = Call.objects.filter(scenario="campaign").first()
    assert campaign and campaign.labels["campaign"].startswith("campaign-") and campaign.labels["to"].startswith("+336")
    assert not Call.objects.filter(labels={}).exists()
    # The tenant's DID: dialled by its inbound callers, shown by its campaigns.
    did, tenant_1 = "+33180000001", Call.objects.filter(tenant_id=1)
    campaigns = tenant_1.filter(scenario="campaign")
    assert tenant_1.filter(labels__contains={"did": did}).count() == tenant_1.count() - campaigns.count()
    assert campaigns.filter(labels__contains={"from": did}).count() == campaigns.count() > 0
    # A Zipf-like spread: the first tenant is the biggest.
    sizes = [Call.objects.filter(tenant_id=t).count() for t in range(1, 6)]
    assert sizes[0] == max(sizes) and sizes[0] > 2 * sizes[4]
    # Failures carry realistic SIP codes; the list's SIP-class filter has something to find.
    assert Call.objects.filter(status="failed", sip_code__gte=400, sip_code__lt=500).exists()


def test_seed_twice_appends_without_id_clashes():
    calls_seed(calls=300, tenants=2, days=1, seed=1, now=NOW)
    calls_seed(calls=300, tenants=2, days=1, seed=2, now=NOW)
    assert Call.objects.count() == 600


def test_command_reports_and_refuses_big_runs_without_copy(monkeypatch):
    out = io.StringIO()
    call_command("cdr_seed", "--calls", "200", "--tenants", "3", "--days", "1", stdout=out, stderr=io.StringIO())
    assert "seeded 200 calls" in out.getvalue() and "COPY" in out.getvalue()
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with pytest.raises(CommandError, match="no COPY"):
        call_command("cdr_seed", "--calls", "2000000")
    with pytest.raises(CommandError, match="--calls must be"):
        call_command("cdr_seed", "--calls", "-1")
