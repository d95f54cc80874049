"""The admin's Reports page: scoped like the call list, charts' data embedded, every table as CSV."""

import csv
import io
import json
import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from cdr.models import ReportPending, Tenant
from cdr.services import events_ingest
from cdr.services.rollups import rollups_catch_up
from tests.support.factories import bye, call, event
from tests.support.tenants import TENANT_A, TENANT_B, staff_user

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
    # Pending legs (none), their count, 6 rollup reads, 2 for the breakdowns (whole days and edge hours of
    # the range), peaks: dirty slots, their legs, the update, the read.
    with django_assert_max_num_queries(17):
        r = staff_client.get(URL, RANGE)
    assert r.status_code == 200
    page = r.content.decode()
    assert "Zulu" not in page and str(TENANT_B) not in page
    data = _data(r)
    assert data["tenant"] == TENANT_A and data["tz"] == "Europe/Paris"
    assert [b["attempts"] for b in data["buckets"]] == [0, 4, 0]
    assert 'src="/static/cdr/vendor/chart.umd.min.js"' in page and "cdn" not in page.lower()
    assert page.count('class="cdr-csv"') == 6
    assert staff_client.get(URL, {**RANGE, "tenant": TENANT_B}).status_code == 404


def test_a_superuser_picks_any_tenant(superuser_client):
    r = superuser_client.get(URL, {**RANGE, "tenant": TENANT_B})
    assert r.status_code == 200
    assert _data(r)["tz"] == "America/New_York" and _data(r)["total"]["attempts"] == 4
    assert "Zulu Secretcorp" in r.content.decode()


@pytest.mark.parametrize("table", ["buckets", "sip_codes", "initiators", "directions", "scenarios", "codecs"])
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


def _unresolved_call(call_id="lost@gw"):
    """A leg no gateway could put in a tenant: it stays on tenant 0."""
    leg = call(call_id, tenant_id=0)
    events_ingest(events=[event("established", 0, leg), bye(30, 30, leg, sip_code=200)])
    rollups_catch_up()


def test_a_member_of_tenant_0_opens_on_their_first_real_tenant(client, calls):
    # Tenant 0 sorts first by id: the page used to open on it, always empty.
    Tenant.objects.get_or_create(id=0)
    client.force_login(staff_user("both", 0, TENANT_A))
    r = client.get(URL, RANGE)
    assert r.status_code == 200 and _data(r)["tenant"] == TENANT_A
    assert 'value="0"' not in r.content.decode()  # no traffic: not offered either
    _unresolved_call()
    r = client.get(URL, RANGE)
    assert _data(r)["tenant"] == TENANT_A and 'value="0"' in r.content.decode()
    assert _data(client.get(URL, {**RANGE, "tenant": 0}))["total"]["attempts"] == 1


def test_the_page_speaks_to_people(staff_client):
    page = staff_client.get(URL, RANGE).content.decode()
    header = re.search(r'data-table="buckets".*?<thead>(.*?)</thead>', page, re.S).group(1)
    assert ">ASR<" in header and ">Calls<" in header and "Billable min" in header
    assert "_" not in re.sub(r'data-column="[a-z_0-9]+"', "", header)  # no snake_case names shown
    body = re.search(r'data-table="buckets".*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    # Europe/Paris, 2026-03-29: 4 calls, 3 answered, ACD (60 s + 79.3 s + 67 s) / 3 = 68.8 s, 206.3 s billable.
    assert "<td>Sun 29 Mar 2026</td><td>4</td><td>3</td><td>1</td><td>75.0 %</td><td>100.0 %</td><td>1:09</td>" in body
    assert "<td>3.4</td><td>0.3 s</td>" in body and "0.75" not in body
    labels = json.loads(re.search(r'id="cdr-report-labels" type="application/json">(.*?)<', page).group(1))
    assert labels == ["Sat 28", "Sun 29", "Mon 30"]
    hourly = staff_client.get(URL, {"from": "2026-03-29", "to": "2026-03-29", "bucket": "hour"}).content.decode()
    labels = json.loads(re.search(r'id="cdr-report-labels" type="application/json">(.*?)<', hourly).group(1))
    # The night the clocks went forward in Paris: 23 hours, 02:00 does not exist.
    assert labels[:4] == ["Sun 29 00:00", "01:00", "03:00", "04:00"] and len(labels) == 23
    monthly = staff_client.get(URL, {"from": "2025-11-01", "to": "2026-03-31", "bucket": "month"}).content.decode()
    labels = json.loads(re.search(r'id="cdr-report-labels" type="application/json">(.*?)<', monthly).group(1))
    assert labels == ["Nov 2025", "Dec", "Jan 2026", "Feb", "Mar"]


def test_breakdowns_by_direction_scenario_and_codec(staff_client):
    data = _data(staff_client.get(URL, RANGE))
    assert {r["scenario"]: r["attempts"] for r in data["scenarios"]} == {
        "ivr": 1,
        "queue": 1,
        "": 1,
        "transfer_agent": 1,
    }
    assert {r["direction"]: r["attempts"] for r in data["directions"]} == {"inbound": 3, "outbound": 1}
    assert [(r["codec"], r["attempts"], r["asr"]) for r in data["codecs"]] == [("pcma", 4, 0.75)]
    page = staff_client.get(URL, RANGE).content.decode()
    scenarios = re.search(r'data-table="scenarios".*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    assert "<td>(none)</td>" in scenarios and "<td>ivr</td>" in scenarios and "100.0 %" in scenarios


def test_breakdown_csv_keeps_raw_values_and_neutralises_cells(staff_client):
    leg = call("formula@gw", tenant_id=TENANT_A, scenario="=HYPERLINK(1)")
    events_ingest(events=[event("established", 0, leg), bye(90, 90, leg, sip_code=200, duration_ms=90_000)])
    rollups_catch_up()
    r = staff_client.get(URL, {**RANGE, "format": "csv", "table": "scenarios"})
    rows = list(csv.reader(io.StringIO(r.content.decode())))
    assert rows[0] == ["scenario", "attempts", "answered", "asr", "acd_s", "billable_minutes", "pdd_mean_ms"]
    by = {row[0]: row for row in rows[1:]}
    assert by["'=HYPERLINK(1)"][1:5] == ["1", "1", "1.0", "90.0"]
    assert by[""][1] == "1"  # no scenario: an empty cell, not a word


def test_an_invalid_tenant_time_zone_reads_as_utc(staff_client):
    Tenant.objects.filter(id=TENANT_A).update(time_zone="Europe/Pariss")
    r = staff_client.get(URL, RANGE)
    assert r.status_code == 200 and _data(r)["tz"] == "UTC"


OVERVIEW = {"tenant": "all", "from": "2026-03-29", "to": "2026-03-29"}


def _overview_rows(page):
    body = re.search(r'data-table="tenants".*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    return re.findall(r'<tr><td><a href="([^"]*)">([^<]*)</a></td>((?:<td>[^<]*</td>)*)</tr>', body)


def test_a_superuser_lands_on_the_all_tenants_overview(superuser_client):
    r = superuser_client.get(URL)
    assert r.status_code == 200 and "All tenants" in r.content.decode() and "UTC" in r.content.decode()
    page = superuser_client.get(URL, OVERVIEW).content.decode()
    rows = _overview_rows(page)
    assert [name for _, name, _ in rows] == [f"Alpha Telecom ({TENANT_A})", f"Zulu Secretcorp ({TENANT_B})"]
    link, _, cells = rows[0]
    assert link.replace("&amp;", "&") == f"?tenant={TENANT_A}&from=2026-03-29&to=2026-03-29"
    # Calls, answered, ASR, ACD, PDD, billable minutes.
    assert re.findall(r"<td>([^<]*)</td>", cells) == ["4", "3", "75.0 %", "1:09", "0.3 s", "3.4"]
    assert re.findall(r"<td>([^<]*)</td>", rows[1][2])[0] == "4"  # an id from 2**63 finds its figures too
    assert "Unresolved" not in page and "(0)</a>" not in page
    _unresolved_call()
    rows = _overview_rows(superuser_client.get(URL, OVERVIEW).content.decode())
    assert [name for _, name, _ in rows][-1] == "Unresolved tenant (0)"  # the least traffic last


def test_the_overview_sorts_by_any_column(superuser_client):
    Tenant.objects.create(id=42, name="Aardvark Quiet")

    def names(o):
        page = superuser_client.get(URL, {**OVERVIEW, "o": o}).content.decode()
        return [n for _, n, _ in _overview_rows(page)]

    assert names("tenant") == ["Aardvark Quiet (42)", f"Alpha Telecom ({TENANT_A})", f"Zulu Secretcorp ({TENANT_B})"]
    assert names("-tenant")[0] == f"Zulu Secretcorp ({TENANT_B})"
    assert names("-attempts")[-1] == "Aardvark Quiet (42)"
    assert names("acd_s")[-1] == "Aardvark Quiet (42)"  # no ACD: last whichever way
    page = superuser_client.get(URL, {**OVERVIEW, "o": "-attempts"}).content.decode()
    assert 'aria-sort="descending"' in page and "o=attempts" in page  # a second click reverses
    r = superuser_client.get(URL, {**OVERVIEW, "o": "password"})
    assert r.status_code == 400 and "o: expected one of" in r.content.decode()


def test_a_scoped_user_sees_only_their_tenants_in_the_overview(client, calls):
    Tenant.objects.create(id=42, name="Quiet")
    client.force_login(staff_user("two", TENANT_A, 42))
    r = client.get(URL)  # staff land on their first tenant's report
    assert r.status_code == 200 and _data(r)["tenant"] == TENANT_A
    page = client.get(URL, OVERVIEW).content.decode()
    assert [n for _, n, _ in _overview_rows(page)] == [f"Alpha Telecom ({TENANT_A})", "Quiet (42)"]
    assert "Zulu" not in page and str(TENANT_B) not in page
    body = client.get(URL, {**OVERVIEW, "format": "csv"}).content.decode()
    assert body.splitlines()[0] == "tenant,name,attempts,answered,asr,acd_s,pdd_mean_ms,billable_minutes"
    assert [line.split(",")[0] for line in body.splitlines()[1:]] == [str(TENANT_A), "42"]
