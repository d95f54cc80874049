"""GET /api/v1/calls/export: streamed CSV/NDJSON, scoped and filtered like the list."""

import csv
import io
import json

import pytest
from django.db import connection
from django.http import StreamingHttpResponse

from cdr.api.calls_export import EXPORT_FIELDS, calls_export_chunks, json_array_chunks
from cdr.models import Call
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
        ({"format": "html"}, "format"),
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


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        ("text/csv", "csv"),
        ("text/csv; charset=utf-8", "csv"),
        ("application/x-ndjson", "ndjson"),
        ("application/json", "json"),
        ("text/csv;q=0.5, application/x-ndjson", "ndjson"),
        ("text/html, application/json;q=0.9, */*;q=0.1", "json"),
    ],
)
def test_without_format_the_accept_header_decides(api, calls, accept, fmt):
    a, _ = calls
    response = api.get(EXPORT, {"status": "failed"}, HTTP_ACCEPT=accept)
    assert response["Content-Type"].split(";")[0] == {"csv": "text/csv", "ndjson": "application/x-ndjson"}.get(
        fmt, "application/json"
    )
    text = body(response)
    if fmt == "csv":
        assert [r["call_id"] for r in csv.DictReader(io.StringIO(text))] == [a.failed]
    elif fmt == "ndjson":
        assert [json.loads(line)["call_id"] for line in text.splitlines()] == [a.failed]
    else:
        assert [r["call_id"] for r in json.loads(text)] == [a.failed]


def test_format_wins_over_accept(api, calls):
    response = api.get(EXPORT, {"format": "csv"}, HTTP_ACCEPT="application/json")
    assert response["Content-Type"].startswith("text/csv")


@pytest.mark.parametrize("accept", ["text/html", "application/xml, image/*", "application/json;q=0"])
def test_an_accept_the_export_cannot_serve_is_406(api, calls, accept):
    response = api.get(EXPORT, HTTP_ACCEPT=accept)
    assert response.status_code == 406
    assert "text/csv" in response.json()["detail"]


@pytest.mark.parametrize("accept", [None, "*/*"])
def test_no_choice_at_all_is_still_a_400_naming_format(api, calls, accept):
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = api.get(EXPORT, **headers)
    assert response.status_code == 400 and "format" in response.json()


@pytest.mark.parametrize("fast", [True, False])
def test_the_json_array_holds_the_ndjson_records_on_both_paths(calls, fast):
    if fast and connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    qs = Call.objects.all()
    ndjson = b"".join(calls_export_chunks(qs, "ndjson", fast=fast)).decode()
    array = json.loads(b"".join(calls_export_chunks(qs, "json", fast=fast)))
    assert array == [json.loads(line) for line in ndjson.splitlines()] and len(array) == 10
    assert json.loads(b"".join(calls_export_chunks(qs.filter(pk=-1), "json", fast=fast))) == []


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_json_array_chunks_whatever_the_chunk_boundaries(size):
    lines = b"".join(json.dumps({"n": i, "s": "a\nb"}).encode() + b"\n" for i in range(5))
    chunks = [lines[i : i + size] for i in range(0, len(lines), size)]
    assert json.loads(b"".join(json_array_chunks(chunks))) == [{"n": i, "s": "a\nb"} for i in range(5)]
    assert json.loads(b"".join(json_array_chunks([]))) == []
