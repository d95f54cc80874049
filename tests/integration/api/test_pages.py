"""Keyset pages of /api/v1/calls/ (ties, order, tampering) and their CSV/NDJSON representations."""

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cdr.api.calls_export import EXPORT_FIELDS, calls_export_chunks
from cdr.models import Call
from cdr.services.api_tokens import api_token_create
from cdr.services.events import events_ingest
from cdr.services.recordings import recording_store
from tests.support.factories import T0, bye, call, event
from tests.support.http import bearer_client
from tests.support.tenants import TENANT_A, TENANT_B

pytestmark = pytest.mark.django_db

LIST = "/api/v1/calls/"


def same_start_calls(n: int, tenant_id: int, prefix: str) -> set[str]:
    """n calls that all started in the same microsecond (a burst, or a clock with coarse ticks)."""
    rows = [
        Call(call_id=f"{prefix}-{i}@gw", tenant_id=tenant_id, direction="inbound", status="completed", started_at=T0)
        for i in range(n)
    ]
    Call.objects.bulk_create(rows, batch_size=1000)
    return {r.call_id for r in rows}


def walk(api, url: str, max_queries, *, limit: int = 50) -> tuple[list[str], int]:
    seen: list[str] = []
    pages = 0
    while url:
        with max_queries(4):  # token (+ touch once a minute), memberships, page; no COUNT, no OFFSET
            response = api.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        seen += [r["call_id"] for r in body["results"]]
        url = body["next"]
        pages += 1
        assert pages <= limit
    return seen, pages


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_thousands_of_identical_start_times_each_row_once(api, calls, order, django_assert_max_num_queries):
    a, _ = calls
    want = same_start_calls(3000, TENANT_A, "tie") | set(a.all)
    same_start_calls(500, TENANT_B, "other")
    seen, pages = walk(api, f"{LIST}?page_size=1000&order={order}", django_assert_max_num_queries)
    assert len(seen) == len(set(seen)) == len(want) and set(seen) == want
    assert pages == 4
    rows = {c.call_id: (c.started_at, c.id) for c in Call.objects.filter(call_id__in=want)}
    keys = [rows[c] for c in seen]
    assert keys == sorted(keys, reverse=order == "desc")


def page_sql(client, max_queries) -> str:
    url = client.get(LIST, {"page_size": 2}).json()["next"]
    with max_queries(4) as queries:
        assert client.get(url).status_code == 200
    sql = next(q["sql"] for q in queries.captured_queries if 'FROM "cdr_call"' in q["sql"])
    assert "OFFSET" not in sql and "COUNT" not in sql.upper()
    return sql


def test_the_page_query_is_a_row_comparison_on_the_index_columns(api, calls, django_assert_max_num_queries):
    # alice has one tenant: the comparison leads with it, for the (tenant, -started_at, -id) index.
    sql = page_sql(api, django_assert_max_num_queries)
    assert re.search(r'\("cdr_call"\."tenant_id", "cdr_call"\."started_at", "cdr_call"\."id"\) < \(7, ', sql), sql


def test_a_superuser_walks_the_global_index_or_one_tenant_beyond_2_63(calls, django_user_model):
    _, b = calls
    root = django_user_model.objects.create_superuser("root", password="x" * 12)
    client = bearer_client(api_token_create(user=root).key)
    url = client.get(LIST, {"page_size": 2}).json()["next"]
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    assert re.search(r'\("cdr_call"\."started_at", "cdr_call"\."id"\) < \(', queries.captured_queries[-1]["sql"])
    # Tenant ids from 2**63 up are stored negative: the comparison must use the stored form.
    seen, pages = [], 0
    url = f"{LIST}?page_size=2&tenant={TENANT_B}"
    while url:
        body = client.get(url).json()
        seen += [r["call_id"] for r in body["results"]]
        url, pages = body["next"], pages + 1
    assert sorted(seen) == sorted(b.all) and pages == 3


def test_tampered_and_mismatched_cursors_are_400_naming_cursor(api, calls):
    next_url = api.get(LIST, {"page_size": 2}).json()["next"]
    cursor = re.search(r"cursor=([^&]+)", next_url).group(1)
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    for params in ({"cursor": tampered}, {"cursor": cursor, "order": "asc"}, {"cursor": ""}):
        response = api.get(LIST, params)
        assert response.status_code == 400, params
        assert "cursor" in response.json()
    bad_order = api.get(LIST, {"order": "sideways"})
    assert bad_order.status_code == 400 and "order" in bad_order.json()


def test_csv_page_with_the_next_link_in_a_header(api, calls):
    a, _ = calls
    response = api.get(LIST, {"format": "csv", "page_size": 3, "order": "asc"})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert tuple(rows[0]) == EXPORT_FIELDS and len(rows) == 3
    next_url = re.fullmatch(r'<(.+)>; rel="next"', response["Link"]).group(1)
    assert "format=csv" in next_url
    rest = api.get(next_url)
    assert "Link" not in rest
    seen = [r["call_id"] for r in rows] + [r["call_id"] for r in csv.DictReader(io.StringIO(rest.content.decode()))]
    assert sorted(seen) == sorted(a.all)


def test_an_empty_ndjson_page_keeps_its_content_type(api, calls):
    """No records is an empty body, still NDJSON (schemathesis found it typeless: DRF drops the type)."""
    nothing = {"started_before": "1014-04-06T00:04:31-00:29"}
    for response in (
        api.get(LIST, {**nothing, "format": "ndjson"}),
        api.get(LIST, nothing, HTTP_ACCEPT="application/x-ndjson"),
    ):
        assert response.status_code == 200, response.content[:200]
        assert response["Content-Type"] == "application/x-ndjson" and response.content == b""


def test_csv_and_ndjson_pages_have_the_export_bytes(api, calls):
    """A page is the export of the same rows: one parser for both on the client side."""
    qs = Call.objects.filter(tenant_id=TENANT_A)
    for fmt, accept in (("csv", "text/csv"), ("ndjson", "application/x-ndjson")):
        exported = b"".join(calls_export_chunks(qs, fmt))
        page = api.get(LIST, {"order": "asc", "page_size": 1000}, HTTP_ACCEPT=accept)
        assert page.status_code == 200 and page["Content-Type"].startswith(accept)
        assert page.content == exported
    [line] = api.get(LIST, {"page_size": 1}, HTTP_ACCEPT="application/x-ndjson").content.splitlines()
    assert list(json.loads(line)) == list(EXPORT_FIELDS)


def test_an_accept_nobody_serves_is_406_and_errors_stay_json(api, calls):
    response = api.get(LIST, HTTP_ACCEPT="application/xml")
    assert response.status_code == 406 and "detail" in response.json()
    response = api.get(LIST, {"format": "csv", "status": "nope"})
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert "status" in response.json()


def test_next_link_keeps_the_filters(api, calls):
    body = api.get(LIST, {"page_size": 1, "started_after": (T0 + timedelta(seconds=30)).isoformat()}).json()
    assert "started_after=" in body["next"]
    later = api.get(body["next"]).json()["results"]
    assert all(r["started_at"] > "2026-03-29T00:30:30" for r in later)


# --- the change feed (order=updated) -----------------------------------------------------------
def feed(api, url: str) -> tuple[list[dict], str]:
    """Follow ``next`` until a short page (caught up); the records seen and where to poll from."""
    seen: list[dict] = []
    while True:
        body = api.get(url).json()
        seen += body["results"]
        assert body["next"], "the change feed always says where to poll from"
        url = body["next"]
        if len(body["results"]) < 2:
            return seen, url


def test_the_change_feed_brings_back_a_call_that_ended_after_the_client_caught_up(api, calls, settings):
    settings.CDR_API_CHANGES_SETTLE_SECONDS = 0
    a, _ = calls
    late = call("late@gw", started_at=(T0 - timedelta(days=30)).isoformat())  # an old start
    events_ingest(events=[event("ringing", 0.5, meta=late)])
    seen, resume = feed(api, f"{LIST}?order=updated&page_size=2")
    assert sorted(r["call_id"] for r in seen) == sorted([*a.all, "late@gw"])
    stamps = [(r["updated_at"], r["call_id"]) for r in seen]
    assert [s for s, _ in stamps] == sorted(s for s, _ in stamps)
    assert api.get(resume).json()["results"] == []  # nothing new: an empty page, same place
    events_ingest(events=[bye(40.0, 40.0, meta=late)])
    again, _ = feed(api, resume)
    assert [(r["call_id"], r["status"]) for r in again] == [("late@gw", "completed")]


def test_the_change_feed_holds_back_rows_younger_than_the_settle_window(api, calls, settings):
    settings.CDR_API_CHANGES_SETTLE_SECONDS = 60
    a, _ = calls
    old = timezone.now() - timedelta(minutes=5)
    Call.objects.filter(call_id__in=a.all[1:]).update(updated_at=old)
    body = api.get(LIST, {"order": "updated", "page_size": 100}).json()
    assert sorted(r["call_id"] for r in body["results"]) == sorted(a.all[1:])  # a.all[0] still settling
    Call.objects.filter(call_id=a.all[0]).update(updated_at=old + timedelta(seconds=1))
    assert [r["call_id"] for r in api.get(body["next"]).json()["results"]] == [a.all[0]]


def test_a_recording_or_transfer_arriving_later_puts_the_call_back_in_the_feed(api, calls, settings):
    settings.CDR_API_CHANGES_SETTLE_SECONDS = 0
    a, _ = calls
    _, resume = feed(api, f"{LIST}?order=updated&page_size=2")
    target = Call.objects.get(call_id=a.answered)
    before = target.updated_at
    recording_store(
        tenant_id=TENANT_A,
        call_id=a.answered,
        fmt="sn3",
        codec="pcmu",
        sample_rate=8000,
        channels=1,
        size=3,
        sha256="ab" * 32,
        storage_key="t/a.sn3",
        wav_ready=True,
    )
    target.refresh_from_db()
    assert target.has_recording and target.updated_at > before
    again, _ = feed(api, resume)
    assert [(r["call_id"], r["has_recording"]) for r in again] == [(a.answered, True)]
