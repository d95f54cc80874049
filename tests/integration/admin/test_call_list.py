"""The call list: columns, filters, search, keyset pages and pinned query counts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cdr.admin.changelist import cursor_decode, cursor_encode
from cdr.models import Call, Recording
from cdr.services.gateways import gateway_create
from tests.support.tenants import TENANT_A, TENANT_B, add_recording, staff_user, tenant_calls

pytestmark = pytest.mark.django_db
URL = "/admin/cdr/call/"
ESSENTIAL = ["started", "tenant_name", "call_id_short", "direction", "status", "duration", "sip", "play"]


def listed(response) -> list[str]:
    """Call-IDs in the result table, in page order (whole, from the row's checkbox label)."""
    return re.findall(r'aria-label="Select this object for an action - ([^"]+)"', response.content.decode())


def get(client, query=""):
    response = client.get(URL + query)
    assert response.status_code == 200, (query, response.status_code, response.get("Location"))
    return response


def test_columns_show_tenant_local_time_tenant_and_the_end(staff_client, calls):
    a, _ = calls
    page = get(staff_client).content.decode()
    row = page[page.index(a.failed) :].split("</tr>")[0]
    # T0 = 2026-03-29 00:31 UTC for the failed call = 01:31 in Paris (CET, before the DST switch at 02:00).
    assert "2026-03-29 01:31:00 CET" in row
    assert "Alpha Telecom" in row and "Inbound" in row and "203.0.113.5:5062" in row and "Failed" in row
    assert "486" in row and "local" in row and "0:05" in row
    answered = page[page.index(a.answered) :].split("</tr>")[0]
    assert "ivr" in answered and "1:02" in answered
    # The recording: a play button (the page's one player loads nothing until it is pressed).
    assert re.search(
        r'<button type="button" class="cdr-play" data-play="/recordings/\d+/link/\?purpose=playback"', answered
    )
    assert "purpose=download" in answered and "<audio" not in answered
    assert page.count('<dialog id="cdr-player"') == 1
    # The essential columns first: start, tenant, Call-ID, direction, status, duration, SIP, play.
    head = re.findall(r'<th scope="col" class="[^"]*column-(\w+)', page)
    assert head[:8] == ESSENTIAL
    assert listed(get(staff_client)) == [a.live, a.agent, a.inbound, a.failed, a.answered]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?direction__exact=outbound", ["agent"]),
        ("?status__exact=failed", ["failed"]),
        ("?status__exact=ringing", ["live"]),
        ("?sip_class=4xx", ["failed"]),
        ("?sip_class=2xx", ["agent", "inbound", "answered"]),
        ("?sip_code=486", ["failed"]),
        ("?hangup_initiator__exact=local", ["inbound", "failed"]),
        ("?scenario=queue", ["inbound"]),
        ("?transferred=yes", ["inbound"]),
        ("?transferred=no", ["live", "agent", "failed", "answered"]),
        ("?recorded=yes", ["answered"]),
        ("?range=today", ["live"]),
        ("?range=7d", ["live"]),
        ("?start=2026-03-29T01:31&end=2026-03-29T01:32:30", ["agent", "inbound", "failed"]),
        ("?start=2026-03-29&end=2026-03-29", ["agent", "inbound", "failed", "answered"]),
        ("?end=2026-03-28", []),
        # The API's grammar (cdr.selectors.times): an offset or Z, a date in UTC, 9 fractional digits.
        ("?start=2026-03-29T00:31:00Z&end=2026-03-29T02:32:30%2B02:00", ["agent", "inbound", "failed"]),
        ("?start=2026-03-29T00:31:00.000000001Z", ["live", "agent", "inbound", "failed"]),
        ("?end=2026-03-28Z", []),
        (f"?tenant={TENANT_A}", ["live", "agent", "inbound", "failed", "answered"]),
        ("?q=alpha-in", ["inbound"]),  # Call-ID prefix
        ("?q=alpha-inbound@gw", ["agent", "inbound"]),  # exact Call-ID, and the leg correlated with it
        ("?q=203.0.113.5:5062", ["failed"]),  # remote address prefix
        ("?q=lpha", []),  # never a substring match
    ],
)
def test_filters_and_search(multi_client, calls, query, expected):
    a, _ = calls
    names = {getattr(a, k): k for k in ("answered", "failed", "inbound", "agent", "live")}
    assert [
        names.get(c, c) for c in listed(get(multi_client, query + "&tenant=7" if "?" in query else "?tenant=7"))
    ] == expected


@pytest.fixture
def multi_client(calls):
    """A user of both tenants (its own client): filters must narrow, not the scoping."""
    client = Client()
    client.force_login(staff_user("multi", TENANT_A, TENANT_B))
    return client


def test_tenant_filter_offers_only_the_users_tenants(multi_client, staff_client, calls):
    page = get(multi_client).content.decode()
    assert "Alpha Telecom" in page and "Zulu Secretcorp" in page
    # A user with one tenant gets no tenant filter at all, and never tenant 0 or another's.
    page = get(staff_client).content.decode()
    assert "By tenant" not in page and "Zulu" not in page and "Unresolved" not in page


def test_date_presets_use_the_tenant_zone(staff_client, calls):
    from cdr.admin.filters import StartedFilter

    request = staff_client.get(URL).wsgi_request
    spec = StartedFilter(request, {"range": ["today"]}, Call, None)
    since, _ = spec.bounds(now=timezone.now())
    assert str(since.tzinfo) == "Europe/Paris" and since.hour == 0


def test_bad_filter_values_are_refused_not_crashed(staff_client, calls):
    for query in (
        "?sip_class=9",
        "?sip_class=4",
        "?end=9999-12-31",
        "?sip_code=abc",
        "?start=yesterday",
        "?range=forever",
        "?before=garbage",
    ):
        response = staff_client.get(URL + query)
        assert response.status_code == 302 and response["Location"].endswith("?e=1"), query


def test_bad_tenant_value_is_refused(multi_client):
    response = multi_client.get(URL + "?tenant=x")
    assert response.status_code == 302 and response["Location"].endswith("?e=1")


def test_column_sorting_is_ignored(staff_client, calls):
    assert listed(get(staff_client, "?o=7")) == listed(get(staff_client))


def test_keyset_pages_walk_everything_once_both_ways(client, db, local_recordings):
    tenant_calls(TENANT_A, "p", remote="203.0.113.9")
    now = timezone.now()
    from cdr.management.seed import calls_seed

    calls_seed(calls=250, tenants=1, first_tenant=TENANT_A, days=1, seed=3, now=now)
    client.force_login(staff_user("pager", TENANT_A))
    expected = list(
        Call.objects.filter(tenant_id=TENANT_A).order_by("-started_at", "-id").values_list("call_id", flat=True)
    )
    pages, query = [], ""
    while True:
        response = get(client, query)
        pages.append(listed(response))
        older = response.context["cl"].older_url if response.context["cl"].has_older else None
        if not older:
            break
        query = older
    assert [c for p in pages for c in p] == expected and len(pages) == 3
    assert "about" not in response.content.decode()  # no estimate for a scoped user
    # And back: "newer" from the last page gives the previous page again.
    newer = response.context["cl"].newer_url
    assert listed(get(client, newer)) == pages[-2]


def test_cursor_round_trip():
    at = timezone.now().replace(microsecond=123456)
    assert cursor_decode(cursor_encode(at, 42)) == (at, 42)
    assert cursor_decode(cursor_encode(at - timedelta(days=20000), 1))[0] == at - timedelta(days=20000)


def test_query_counts_per_page_are_pinned(staff_client, superuser_client, calls, django_assert_max_num_queries):
    # session, user, memberships, the user's tenants (filter + zone), the page, the page's
    # recordings, and Django's two permission reads for the sidebar's app list (auth app).
    with django_assert_max_num_queries(8):
        get(staff_client)
    with django_assert_max_num_queries(8):
        get(staff_client, "?status__exact=completed&sip_class=2xx&range=30d&q=alpha&recorded=yes&transferred=no")
    with django_assert_max_num_queries(8):
        get(staff_client, "?before=" + cursor_encode(timezone.now(), 10**9))


def test_superuser_query_count_and_no_count_query(superuser_client, calls, django_assert_max_num_queries):
    # session, user, tenants, the page, the recordings, and the pg_class estimate (no COUNT(*))
    with django_assert_max_num_queries(6), CaptureQueriesContext(connection) as ctx:
        page = get(superuser_client).content.decode()
    assert not [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]
    assert "estimated" in page
    with CaptureQueriesContext(connection) as ctx:
        get(superuser_client, "?status__exact=failed")
    assert not [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper() or "reltuples" in q["sql"]]


def test_export_action_streams_csv_of_selected(staff_client, calls):
    a, _ = calls
    pk = Call.objects.get(call_id=a.failed).pk
    response = staff_client.post(URL, {"action": "export_csv", "_selected_action": [pk]})
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[0].startswith("call_id,correlation_id,tenant_id")
    assert a.failed in text and a.answered not in text


def test_the_recorded_filter_ignores_another_tenants_recording_of_the_call_id(staff_client, calls):
    """A gateway's recording of a call it may not report stays at its own tenant, off the call."""
    a, _ = calls
    intruder = gateway_create(name="edge-b", tenant_ids=[TENANT_B]).gateway
    theirs = add_recording(TENANT_B, a.failed)
    Recording.objects.filter(pk=theirs.pk).update(gateway=intruder, call_leg=None)
    assert listed(get(staff_client, "?recorded=yes")) == [a.answered]


def test_a_long_call_id_is_shortened_with_the_whole_one_in_its_title(staff_client, db, local_recordings):
    long_id = 'a1b2c3d4e5f6a7b8c9d0/x%20y "q"@gw.example'
    tenant_calls(TENANT_A, "z", remote="192.0.2.1")
    from cdr.services import events_ingest
    from tests.support.factories import call, event

    events_ingest(events=[event("ringing", 0.5, call(long_id, tenant_id=TENANT_A))])
    page = get(staff_client, "?q=a1b2").content.decode()
    assert '<span title="a1b2c3d4e5f6a7b8c9d0/x%20y &quot;q&quot;@gw.example">a1b2c3d4e5f6a7b8c…</span>' in page
