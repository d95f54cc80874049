"""Issue 17: the API's filters (end time, duration, SIP class, remote address), its one time grammar
(dates in the tenant's zone), and unknown parameters refused by name. Runs on PostgreSQL and SQLite."""

from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cdr.models import Tenant
from cdr.services.api_tokens import api_token_create
from tests.support.http import bearer_client
from tests.support.tenants import TENANT_A, TENANT_B, add_recording

pytestmark = pytest.mark.django_db

LIST = "/api/v1/calls/"
EXPORT = "/api/v1/calls/export"

# Tenant A's calls (T0 = 2026-03-29T00:30:00Z): answered 00:30:00-00:31:02 (62 s, 2xx, :5060),
# failed 00:31:00-00:31:05 (5 s, 486, :5062), inbound 00:32:00-00:33:20.3 (80.3 s, :5060), its
# agent leg 00:32:10-00:33:20 (70 s, 10.9.9.9), live (now, no end, :5070).


def names(response, a) -> set[str]:
    assert response.status_code == 200, response.content
    by_id = {getattr(a, k): k for k in ("answered", "failed", "inbound", "agent", "live")}
    return {by_id.get(r["call_id"], r["call_id"]) for r in response.json()["results"]}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"ended_after": "2026-03-29T00:31:03Z"}, {"failed", "inbound", "agent"}),
        ({"ended_before": "2026-03-29T00:31:03Z"}, {"answered"}),
        ({"ended_after": "2026-03-29T02:31:02+02:00", "ended_before": "2026-03-29T00:31:05Z"}, {"answered"}),
        ({"min_duration_ms": "70000"}, {"inbound", "agent"}),
        ({"max_duration_ms": "62000"}, {"answered", "failed"}),
        ({"min_duration_ms": "5000", "max_duration_ms": "5000"}, {"failed"}),
        ({"min_duration_ms": "0"}, {"answered", "failed", "inbound", "agent"}),  # a live call has none
        ({"sip_class": "4xx"}, {"failed"}),
        ({"sip_class": "2xx"}, {"answered", "inbound", "agent"}),
        ({"sip_class": "6xx"}, set()),
        ({"remote_addr": "203.0.113.5:506"}, {"answered", "failed", "inbound"}),
        ({"remote_addr": "10.9."}, {"agent"}),
        ({"remote_addr": "203.0.113.5:5070"}, {"live"}),
        # LIKE's wildcards are characters here: a prefix, never a pattern.
        ({"remote_addr": "203.0.113.5:50_0"}, set()),
        ({"remote_addr": "%"}, set()),
        ({"sip_class": "2xx", "remote_addr": "203.", "max_duration_ms": "70000"}, {"answered"}),
    ],
)
def test_new_filters(api, calls, params, expected):
    a, _ = calls
    assert names(api.get(LIST, params), a) == expected


def test_new_filters_on_the_export(api, calls):
    a, _ = calls
    response = api.get(EXPORT, {"format": "ndjson", "sip_class": "4xx", "ended_after": "2026-03-29"})
    body = b"".join(response.streaming_content)
    assert [line for line in body.decode().splitlines() if a.failed in line] and body.count(b"\n") == 1


@pytest.fixture
def new_york(calls):
    """Tenant A's day runs 04:00Z..04:00Z (EDT) around T0: its calls at 00:30Z are of March 28 there."""
    Tenant.objects.filter(id=TENANT_A).update(time_zone="America/New_York")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        # The tenant's day: March 29 in New York starts after the T0 calls.
        ({"started_after": "2026-03-29"}, {"live"}),
        ({"started_before": "2026-03-28"}, {"answered", "failed", "inbound", "agent"}),  # the whole 28th
        ({"started_after": "2026-03-28", "started_before": "2026-03-28"}, {"answered", "failed", "inbound", "agent"}),
        ({"ended_before": "2026-03-28"}, {"answered", "failed", "inbound", "agent"}),
        # A date-time without an offset is New York time too: 20:31 EDT = 00:31Z.
        ({"started_after": "2026-03-28T20:31", "started_before": "2026-03-28T20:32"}, {"failed"}),
        # Z (the UTC day) or an offset overrides the zone.
        ({"started_after": "2026-03-29Z"}, {"answered", "failed", "inbound", "agent", "live"}),
        ({"started_before": "2026-03-28Z"}, set()),
        ({"started_after": "2026-03-29T00:31:00Z", "started_before": "2026-03-29T00:31:00.000001Z"}, {"failed"}),
    ],
)
def test_dates_are_days_in_the_tenants_zone(api, calls, new_york, params, expected):
    a, _ = calls
    assert names(api.get(LIST, params), a) == expected


def test_several_tenants_in_scope_read_dates_in_utc(calls, new_york, django_user_model):
    a, _ = calls
    root = bearer_client(
        api_token_create(user=django_user_model.objects.create_superuser("root", password="x" * 12)).key
    )
    everything = {"answered", "failed", "inbound", "agent"}
    assert names(root.get(LIST, {"started_after": "2026-03-29", "page_size": 100}), a) >= everything
    # Narrowed to tenant A by the filter: its zone again.
    assert names(root.get(LIST, {"tenant": TENANT_A, "started_after": "2026-03-29"}), a) == {"live"}
    Tenant.objects.filter(id=TENANT_B).update(time_zone="Pacific/Kiritimati")  # UTC+14: 03-29 starts 03-28T10Z
    assert len(root.get(LIST, {"tenant": TENANT_B, "started_after": "2026-03-29"}).json()["results"]) == 5


def test_a_tenant_one_may_not_see_lends_no_zone(api, calls):
    with CaptureQueriesContext(connection) as queries:
        assert api.get(LIST, {"tenant": TENANT_B, "started_after": "2026-03-29"}).json()["results"] == []
    zones = [q["sql"] for q in queries.captured_queries if 'FROM "cdr_tenant"' in q["sql"]]
    assert all(f'"cdr_tenant"."id" = {TENANT_A} ' in sql for sql in zones), zones
    # One's own tenant's zone costs one query, and only when a value needs it.
    with CaptureQueriesContext(connection) as queries:
        api.get(LIST, {"tenant": TENANT_A, "started_after": "2026-03-29", "ended_after": "2026-03-29"})
    assert len([q for q in queries.captured_queries if 'FROM "cdr_tenant"' in q["sql"]]) == 1
    with CaptureQueriesContext(connection) as queries:
        api.get(LIST, {"tenant": TENANT_A, "started_after": "2026-03-29T00:00:00Z"})
    assert not [q for q in queries.captured_queries if 'FROM "cdr_tenant"' in q["sql"]]


@pytest.mark.parametrize(
    ("param", "value", "reason"),
    [
        ("started_after", "9999-12-31T23:59:59-14:00", "outside years 1 to 9999 in UTC"),
        ("started_before", "0001-01-01T00:00:00+14:00", "outside years 1 to 9999 in UTC"),
        ("ended_after", "0000-01-01", "outside years 1 to 9999 in UTC"),
        ("ended_before", "9999-12-31", "outside years 1 to 9999 in UTC"),
        ("ended_before", "2026-03-29\x00", "NUL characters are not allowed"),
        ("ended_after", "tomorrow", "expected a date or a date-time"),
        ("ended_after", "9" * 5000, "expected a date or a date-time"),
        ("min_duration_ms", "9223372036854775808", "expected a number of milliseconds"),
        ("max_duration_ms", "9" * 30, "expected a number of milliseconds"),
        ("max_duration_ms", "-1", "expected a number of milliseconds"),
        ("min_duration_ms", "²", "expected a number of milliseconds"),
        ("sip_class", "4XX", "expected one of 1xx"),
        ("sip_class", "7xx", "expected one of 1xx"),
        ("remote_addr", "203.0\x00", "NUL characters are not allowed"),
        ("remote_addr", "x" * 256, "at most 255 characters"),
    ],
)
@pytest.mark.parametrize("url", [LIST, EXPORT])
def test_bad_values_are_400_with_the_reason(api, calls, url, param, value, reason):
    response = api.get(url, {"format": "csv", param: value})
    assert response.status_code == 400, response.content
    assert reason in response.json()[param]


def test_extremes_that_fit_are_answered(api, calls):
    a, _ = calls
    for params in (
        {"started_after": "0001-01-01T00:00:00Z", "ended_before": "9999-12-31T23:59:59.999999Z"},
        {"started_after": "0001-01-01", "started_before": "9999-12-30"},
        {"min_duration_ms": "0", "max_duration_ms": "9223372036854775807"},
    ):
        assert names(api.get(LIST, params), a) >= {"answered", "failed"}, (connection.vendor, params)


@pytest.mark.parametrize(
    ("url", "param", "hint"),
    [
        (LIST, "stauts", "did you mean status?"),
        (LIST, "ended_afer", "did you mean ended_after?"),
        (LIST, "pagesize", "did you mean page_size?"),
        (LIST, "labels", "did you mean label?"),
        (EXPORT, "sip_clas", "did you mean sip_class?"),
        ("/api/v1/reports/summary", "bukcet", "did you mean bucket?"),
    ],
)
def test_an_unknown_parameter_is_400_naming_it(api, calls, url, param, hint):
    response = api.get(url, {"format": "csv", param: "failed"})
    assert response.status_code == 400, response.content
    message = response.json()[param]
    assert message.startswith("unknown parameter")
    if hint:
        assert hint in message


def test_unknown_parameters_on_the_detail_and_media_views(api, calls, local_recordings):
    a, _ = calls
    recording = add_recording(TENANT_A, a.answered)
    detail = f"{LIST}{quote(a.answered)}/"
    assert api.get(detail, {"format": "json"}).status_code == 200  # DRF's own parameter
    assert "unknown parameter" in api.get(detail, {"expand": "events"}).json()["expand"]
    media = f"/api/v1/recordings/{recording.pk}/media"
    assert api.get(media, {"variant": "wav"}).status_code == 302
    assert "did you mean variant?" in api.get(media, {"varient": "wav"}).json()["varient"]


def test_an_unknown_parameter_is_checked_after_authentication(calls, client):
    assert client.get(LIST, {"stauts": "x"}).status_code == 401


def test_a_repeated_parameter_is_400(api, calls):
    response = api.get(f"{LIST}?sip_class=4xx&sip_class=5xx")
    assert response.status_code == 400 and response.json()["sip_class"] == "give this parameter once"
