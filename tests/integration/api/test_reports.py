"""GET /api/v1/reports/summary: figures, CSV by negotiation, scoping, and 400s naming the parameter."""

import csv
import io

import pytest
from rest_framework.test import APIClient

from cdr.services.api_tokens import api_token_create
from cdr.services.rollups import rollups_catch_up
from tests.support.tenants import TENANT_A, TENANT_B, staff_user, two_tenants

URL = "/api/v1/reports/summary"
RANGE = {"from": "2026-03-28", "to": "2026-03-30", "bucket": "day"}


@pytest.fixture
def api(db, local_recordings):
    two_tenants()
    rollups_catch_up()  # as the periodic task would have: the pinned query count is the steady state
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=staff_user('alice', TENANT_A)).key}")
    return client


def test_figures_of_the_callers_tenant_in_its_time_zone(api, django_assert_max_num_queries):
    # +2: pending legs to catch up (none), their count; +2: the breakdowns (whole days, edge hours).
    with django_assert_max_num_queries(14):
        r = api.get(URL, {"tenant": TENANT_A, **RANGE})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["tz"] == "Europe/Paris"
    assert [b["start"] for b in body["buckets"]] == [
        "2026-03-28T00:00:00+01:00",
        "2026-03-29T00:00:00+01:00",
        "2026-03-30T00:00:00+02:00",
    ]
    day = body["buckets"][1]
    assert (day["attempts"], day["answered"], day["failed"], day["inbound"], day["outbound"]) == (4, 3, 1, 3, 1)
    assert (day["asr"], day["ner"], day["recording_coverage"]) == (0.75, 1.0, 0.3333)
    assert (day["transfers_attempted"], day["transfers_bridged"]) == (1, 1)
    assert body["total"] == {k: v for k, v in day.items() if k != "start"}
    assert body["buckets"][0]["attempts"] == 0 and body["buckets"][0]["asr"] is None
    assert {"sip_code": 486, "legs": 1} in body["sip_codes"]
    assert {"initiator": "local", "legs": 2} in body["initiators"]
    assert {r["direction"]: r["attempts"] for r in body["directions"]} == {"inbound": 3, "outbound": 1}
    assert [(r["codec"], r["asr"], r["acd_s"]) for r in body["codecs"]] == [("pcma", 0.75, 68.8)]


def test_the_tenant_may_be_omitted_by_a_one_tenant_user_and_tz_overrides(api):
    r = api.get(URL, {**RANGE, "tz": "UTC", "bucket": "hour", "from": "2026-03-29", "to": "2026-03-29"})
    assert r.status_code == 200, r.content
    hours = r.json()["buckets"]
    assert len(hours) == 24 and hours[0]["attempts"] == 4


@pytest.mark.parametrize("how", [{"HTTP_ACCEPT": "text/csv"}, {"format": "csv"}])
def test_csv_by_accept_header_or_format(api, how):
    params = {"tenant": TENANT_A, **RANGE}
    headers = {k: v for k, v in how.items() if k.startswith("HTTP_")}
    params |= {k: v for k, v in how.items() if not k.startswith("HTTP_")}
    r = api.get(URL, params, **headers)
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/csv")
    assert "attachment" in r["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert [row["attempts"] for row in rows] == ["0", "4", "0"]
    codes = api.get(URL, {**params, "table": "sip_codes"}, **headers)
    assert "486,1" in codes.content.decode()


def test_another_tenant_is_404_like_an_unknown_one(api):
    assert api.get(URL, {"tenant": TENANT_B, **RANGE}).status_code == 404
    assert api.get(URL, {"tenant": 999, **RANGE}).status_code == 404


def test_a_superuser_token_reads_any_tenant(db, local_recordings, django_user_model):
    two_tenants()
    root = django_user_model.objects.create_superuser("root", password="x" * 12)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=root).key}")
    r = client.get(URL, {"tenant": TENANT_B, **RANGE, "tz": "UTC"})
    assert r.status_code == 200 and r.json()["total"]["attempts"] == 4
    # Two tenants visible: the tenant must be named.
    assert client.get(URL, RANGE).json() == {"tenant": "required: the id of one of your tenants"}


def test_no_token_is_401(db):
    assert APIClient().get(URL, RANGE).status_code == 401


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"tenant": "seven"}, "tenant"),
        ({"tenant": "-1"}, "tenant"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-02-30"}, "to"),
        ({"from": "2026-04-02", "to": "2026-04-01"}, "to"),
        ({"from": "0001-01-01"}, "from"),
        ({"bucket": "minute"}, "bucket"),
        ({"bucket": "hour", "from": "2025-01-01", "to": "2025-12-31"}, "bucket"),
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"direction": "sideways"}, "direction"),
        ({"format": "xml"}, "format"),
        ({"format": "csv", "table": "nope"}, "table"),
    ],
)
def test_bad_input_is_400_naming_the_parameter(api, params, param):
    r = api.get(URL, {"tenant": TENANT_A, **RANGE, **params})
    assert r.status_code == 400, r.content
    assert r["Content-Type"].startswith("application/json")
    assert list(r.json()) == [param]


def test_a_csv_request_with_bad_input_still_gets_a_json_400(api):
    r = api.get(URL, {"tenant": TENANT_A, "bucket": "minute"}, HTTP_ACCEPT="text/csv")
    assert r.status_code == 400 and r.json() == {"bucket": "expected one of hour, day, week, month"}


def test_the_schema_documents_the_endpoint_without_warnings(db):
    from django.core.management import call_command

    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    schema = out.getvalue()
    assert "/api/v1/reports/summary:" in schema
    assert "NER_USER_CODES" in schema and "'401':" in schema
