"""GET /api/v1/calls/export: streamed CSV/NDJSON, scoped and filtered like the list."""

import csv
import io
import json

import pytest
from django.http import StreamingHttpResponse

from cdr.api.calls_export import EXPORT_FIELDS
from tests.support.tenants import TENANT_A, TENANT_B

pytestmark = pytest.mark.django_db

EXPORT = "/api/v1/calls/export"


def body(response) -> str:
    assert response.status_code == 200, response.content
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode()


def test_csv_has_the_header_and_only_the_users_tenant_oldest_first(api, calls):
    a, _ = calls
    response = api.get(EXPORT, {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body(response))))
    assert tuple(rows[0]) == EXPORT_FIELDS
    assert {r["call_id"] for r in rows} == set(a.all)
    assert [r["started_at"] for r in rows] == sorted(r["started_at"] for r in rows)
    answered = next(r for r in rows if r["call_id"] == a.answered)
    assert (answered["tenant_id"], answered["started_at"], answered["sip_code"]) == (
        str(TENANT_A),
        "2026-03-29T00:30:00Z",
        "200",
    )


def test_ndjson_is_one_record_a_line_with_filters(api, calls):
    a, _ = calls
    response = api.get(EXPORT, {"format": "ndjson", "status": "failed"})
    assert response["Content-Type"] == "application/x-ndjson"
    lines = body(response).splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["call_id"] for r in records] == [a.failed]
    assert list(records[0]) == list(EXPORT_FIELDS) and records[0]["sip_code"] == 486


def test_another_tenant_filter_exports_nothing(api, calls):
    assert body(api.get(EXPORT, {"format": "ndjson", "tenant": TENANT_B})) == ""
    assert body(api.get(EXPORT, {"format": "csv", "tenant": TENANT_B})).strip() == ",".join(EXPORT_FIELDS)


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({}, "format"),
        ({"format": "xml"}, "format"),
        ({"format": "json"}, "format"),
        ({"format": "csv", "started_after": "soon"}, "started_after"),
        ({"format": "csv", "tenant": "x"}, "tenant"),
    ],
)
def test_bad_input_is_400_naming_the_parameter(api, calls, params, param):
    response = api.get(EXPORT, params)
    assert response.status_code == 400
    assert param in response.json()


def test_export_needs_a_token(calls, client):
    assert client.get(EXPORT, {"format": "csv"}).status_code == 401
