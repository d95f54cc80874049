"""GET /api/v1/calls/ and /api/v1/calls/{call_id}/: scoped, filtered, cursor-paginated, 400 not 500."""

import base64
from datetime import timedelta
from urllib.parse import quote

import pytest

from cdr.api.calls_export import EXPORT_FIELDS
from cdr.services import events_ingest
from cdr.services.api_tokens import api_token_create
from tests.support.factories import T0, call, event, iso
from tests.support.http import bearer_client
from tests.support.tenants import TENANT_A, TENANT_B, staff_user

pytestmark = pytest.mark.django_db

LIST = "/api/v1/calls/"


def ids(response):
    assert response.status_code == 200, response.content
    return {r["call_id"] for r in response.json()["results"]}


def test_list_shows_only_the_token_users_tenants(api, calls):
    a, b = calls
    # The agent leg's tenant is inherited from its inbound call through the correlation id.
    assert ids(api.get(LIST)) == set(a.all)
    assert not ids(api.get(LIST, {"page_size": 1000})) & set(b.all)
    assert ids(api.get(LIST, {"tenant": TENANT_B})) == set()


def test_a_superuser_sees_every_tenant_and_a_user_without_membership_none(calls, django_user_model):
    a, b = calls
    root = django_user_model.objects.create_superuser("root", password="x" * 12)
    assert ids(bearer_client(api_token_create(user=root).key).get(LIST)) == set(a.all) | set(b.all)
    nobody = staff_user("nobody")
    assert ids(bearer_client(api_token_create(user=nobody).key).get(LIST)) == set()


def test_record_fields_and_rfc3339_utc_times(api, calls):
    a, _ = calls
    records = {r["call_id"]: r for r in api.get(LIST).json()["results"]}
    answered = records[a.answered]
    assert list(answered) == [*EXPORT_FIELDS, "recording_summary"]
    assert answered["started_at"] == "2026-03-29T00:30:00Z"
    assert answered["ringing_at"] == "2026-03-29T00:30:00.400000Z"
    assert (answered["tenant_id"], answered["status"], answered["sip_code"]) == (TENANT_A, "completed", 200)
    assert records[a.inbound]["transferred"] is True and answered["transferred"] is False


def test_newest_first(api, calls):
    starts = [r["started_at"] for r in api.get(LIST).json()["results"]]
    assert starts == sorted(starts, reverse=True)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"tenant": TENANT_A}, "all"),
        ({"started_after": "2026-03-29T00:31:00Z", "started_before": "2026-03-29T00:32:10Z"}, ["failed", "inbound"]),
        ({"started_after": "2026-03-29T02:31:00+02:00", "started_before": "2026-03-29T02:32:00+02:00"}, ["failed"]),
        ({"direction": "outbound"}, ["agent"]),
        ({"status": "failed"}, ["failed"]),
        ({"status": "ringing"}, ["live"]),
        ({"sip_code": "486"}, ["failed"]),
        ({"hangup_initiator": "local", "status": "completed"}, ["inbound"]),
        ({"scenario": "ivr"}, ["answered"]),
        ({"correlation_id": "alpha-inbound@gw"}, ["agent"]),
        ({"scenario": "nope"}, []),
    ],
)
def test_filters(api, calls, params, expected):
    a, _ = calls
    want = set(a.all) if expected == "all" else {getattr(a, name) for name in expected}
    assert ids(api.get(LIST, params)) == want


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("tenant", "abc"),
        ("tenant", "-1"),
        ("tenant", str(2**64)),
        ("started_after", "yesterday"),
        ("started_after", "2026-13-45T00:00:00Z"),
        ("started_before", "2026-03-29T24:00:00Z"),
        ("direction", "sideways"),
        ("status", "COMPLETED"),
        ("sip_code", "99"),
        ("sip_code", "2OO"),
        ("hangup_initiator", "nobody"),
        ("scenario", "x" * 65),
        ("correlation_id", "x" * 256),
        ("scenario", "a\x00b"),  # PostgreSQL text cannot hold NUL: a 400, not a DataError
        ("correlation_id", "\x00"),
        ("has_recording", "yes"),
        ("order", "newest"),
        ("page_size", "0"),
        ("page_size", "1001"),
        ("page_size", "ten"),
        ("cursor", "garbage"),
        ("cursor", base64.b64encode(b"p=not-a-date").decode()),
        ("cursor", base64.b64encode(b"o=-5&p=2026-03-29").decode()),
        ("format", "xml"),
    ],
)
def test_bad_input_is_400_naming_the_parameter(api, calls, param, value):
    response = api.get(LIST, {param: value})
    assert response.status_code == 400, (response.status_code, response.content)
    assert param in response.json()


def test_a_repeated_filter_is_400(api, calls):
    response = api.get(f"{LIST}?status=failed&status=completed")
    assert response.status_code == 400 and "status" in response.json()


def test_detail_has_hangup_transfers_and_events(api, calls):
    a, _ = calls
    body = api.get(f"{LIST}{quote(a.inbound)}/").json()
    assert body["call_id"] == a.inbound
    assert body["hangup"]["initiator"] == "local" and body["hangup"]["sip_code"] == 200
    [transfer] = body["transfers"]
    assert transfer["attempt"] == 1 and transfer["target"] == "sip:agent@alpha.pbx"
    assert transfer["outbound_call_id"] == a.agent and transfer["outcome"] == "bridged"
    assert transfer["bridged_at"].endswith("Z")
    types = [e["type"] for e in body["events"]]
    assert types[:2] == ["ringing", "established"] and "transfer_started" in types
    assert set(body["events"][0]) == {"type", "status", "reason", "observed_at"}


def test_detail_shows_rejected_events_with_their_reason(api, calls):
    a, _ = calls
    events = api.get(f"{LIST}{quote(a.answered)}/").json()["events"]
    rejected = [e for e in events if e["status"] == "rejected"]
    assert rejected and "sideways" in rejected[0]["reason"]


def test_detail_shows_another_tenants_copy_of_the_call_id_to_superusers_only(api, calls, django_user_model):
    """Issue 16, item 1: the copy is refused (kept rejected in the log); it is that tenant's data."""
    a, _ = calls
    assert events_ingest(events=[event("established", 0.5, call(a.answered, tenant_id=TENANT_B))]).rejected == 1
    root = django_user_model.objects.create_superuser("root", password="x" * 12)
    for client, shown in ((bearer_client(api_token_create(user=root).key), True), (api, False)):
        events = client.get(f"{LIST}{quote(a.answered)}/").json()["events"]
        assert any("(bound first)" in e["reason"] for e in events) is shown


def test_detail_of_a_live_call_has_no_hangup(api, calls):
    a, _ = calls
    assert api.get(f"{LIST}{quote(a.live)}/").json()["hangup"] is None


def test_another_tenants_call_and_an_unknown_call_are_404(api, calls):
    _, b = calls
    for call_id in (b.answered, b.inbound, "no-such-call", "export", "nul\x00"):
        response = api.get(f"{LIST}{quote(call_id)}/")
        assert response.status_code == 404, call_id
        assert "zulu" not in response.content.decode()


def _many_calls(n: int, tenant_id: int) -> set[str]:
    # Three calls per second: ties on started_at, which the cursor must not skip or repeat.
    metas = [
        call(f"bulk-{tenant_id}-{i}@gw", tenant_id=tenant_id, started_at=iso(T0 + timedelta(seconds=i // 3)))
        for i in range(n)
    ]
    events_ingest(events=[event("ringing", 0.1 + i // 3, m) for i, m in enumerate(metas)])
    return {m["call_id"] for m in metas}


def test_pagination_walks_every_row_once(api, calls, django_assert_max_num_queries):
    a, _ = calls
    want = _many_calls(40, TENANT_A) | set(a.all)
    _many_calls(10, TENANT_B)
    seen: list[str] = []
    url = f"{LIST}?page_size=7"
    pages = 0
    while url:
        with django_assert_max_num_queries(4):  # token (+ touch once a minute), memberships, page; no COUNT
            response = api.get(url)
        assert response.status_code == 200
        body = response.json()
        assert len(body["results"]) <= 7
        seen += [r["call_id"] for r in body["results"]]
        url = body["next"]
        pages += 1
    assert len(seen) == len(set(seen)) == len(want)
    assert set(seen) == want
    assert pages == -(-len(want) // 7)


def test_page_size_up_to_1000(api, calls):
    a, _ = calls
    body = api.get(LIST, {"page_size": 1000}).json()
    assert len(body["results"]) == len(a.all) and body["next"] is None
