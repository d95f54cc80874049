"""The admin's Reports page: scoped like the call list, charts' data embedded, every table as CSV."""

import csv
import io
import json
import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from cdr.models import ReportPending, Tenant
from cdr.services.rollups import rollups_catch_up
from tests.support.tenants import TENANT_A, TENANT_B

pytestmark = pytest.mark.django_db
URL = "/admin/cdr/report/"
RANGE = {"from": "2026-03-28", "to": "2026-03-30", "bucket": "day"}


@pytest.fixture
def calls(calls):
    """The admin's two tenants, caught up as the periodic task would have: the pinned query counts are
    the steady state."""
    rollups_catch_up()
    return calls


def _data(response):
    m = re.search(r'<script id="cdr-report-data" type="application/json">(.*?)</script>', response.content.decode())
    return json.loads(m.group(1))


def test_linked_from_the_app_index(staff_client):
    page = staff_client.get(reverse("admin:app_list", args=["cdr"])).content.decode()
    assert URL in page and "Reports" in page


def test_a_staff_user_sees_only_their_tenant(staff_client, django_assert_max_num_queries):
    # Pending legs (none), their count, 6 rollup reads, peaks: dirty slots, their legs, the update, the read.
    with django_assert_max_num_queries(15):
        r = staff_client.get(URL, RANGE)
    assert r.status_code == 200
    page = r.content.decode()
    assert "Zulu" not in page and str(TENANT_B) not in page
    data = _data(r)
    assert data["tenant"] == TENANT_A and data["tz"] == "Europe/Paris"
    assert [b["attempts"] for b in data["buckets"]] == [0, 4, 0]
    assert 'src="/static/cdr/vendor/chart.umd.min.js"' in page and "cdn" not in page.lower()
    assert page.count('class="cdr-csv"') == 3
    assert staff_client.get(URL, {**RANGE, "tenant": TENANT_B}).status_code == 404


def test_a_superuser_picks_any_tenant(superuser_client):
    r = superuser_client.get(URL, {**RANGE, "tenant": TENANT_B})
    assert r.status_code == 200
    assert _data(r)["tz"] == "America/New_York" and _data(r)["total"]["attempts"] == 4
    assert "Zulu Secretcorp" in r.content.decode()


@pytest.mark.parametrize("table", ["buckets", "sip_codes", "initiators"])
def test_every_table_downloads_as_csv(staff_client, table):
    page = staff_client.get(URL, RANGE).content.decode()
    link = re.search(rf'href="(\?[^"]*table={table}[^"]*)"', page).group(1).replace("&amp;", "&")
    r = staff_client.get(URL + link)
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode())))
    assert len(rows) > 1
    if table == "buckets":
        assert [row[1] for row in rows[1:]] == ["0", "4", "0"]


def test_an_empty_range_and_a_tenant_without_calls_render(staff_client, superuser_client):
    r = staff_client.get(URL, {"from": "2020-01-01", "to": "2020-01-31", "bucket": "week"})
    assert r.status_code == 200 and "No calls in this range." in r.content.decode()
    Tenant.objects.create(id=42, name="Quiet", time_zone="Asia/Kolkata")
    r = superuser_client.get(URL, {"tenant": 42})
    assert r.status_code == 200 and _data(r)["total"]["attempts"] == 0


def test_bad_input_is_a_400_page_naming_the_parameter(staff_client):
    r = staff_client.get(URL, {"from": "2026-13-01"})
    assert r.status_code == 400 and "from: expected a date" in r.content.decode()
    r = staff_client.get(URL, {"bucket": "hour", "from": "2024-01-01", "to": "2025-01-01"})
    assert r.status_code == 400 and "bucket: more than" in r.content.decode()


def test_a_user_without_tenants_is_refused(client, django_user_model):
    user = django_user_model.objects.create_user("nobody", password="x" * 12, is_staff=True)
    client.force_login(user)
    assert client.get(URL).status_code == 403


def test_legs_still_queued_after_the_pages_catch_up_are_announced(staff_client):
    # A burst beyond one catch-up round (5,000 legs): the page applies a round and says what is left.
    now = datetime.now(UTC)
    ReportPending.objects.bulk_create([ReportPending(call_id=f"burst-{i}", marked_at=now) for i in range(5003)])
    page = staff_client.get(URL, RANGE).content.decode()
    assert "3 legs written in the last seconds are not counted yet" in page
    assert ReportPending.objects.count() == 3
    assert "not counted yet" not in staff_client.get(URL, RANGE).content.decode()
