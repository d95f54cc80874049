"""The call page: read-only record, timeline, hangup, transfer links both ways, recordings, raw events."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from cdr.models import Call, RecordingAccess, Tenant
from cdr.services import events_ingest
from tests.support.factories import call, event
from tests.support.tenants import TENANT_A, TENANT_B, transferred_twice

pytestmark = pytest.mark.django_db


def page(client, call_id) -> str:
    pk = Call.objects.get(call_id=call_id).pk
    response = client.get(reverse("admin:cdr_call_change", args=[pk]))
    assert response.status_code == 200
    return response.content.decode()


def section(html: str, name: str) -> str:
    start = html.index(f'id="cdr-{name}"')
    return html[start : html.index("</fieldset>", start)]


def test_timeline_lists_events_in_order_with_tenant_times_and_rejections(staff_client, calls):
    a, _ = calls
    html = page(staff_client, a.answered)
    timeline = section(html, "timeline")
    assert re.findall(r'data-type="(\w+)"', timeline) == ["ringing", "established", "bye", "bye"]
    assert "2026-03-29 01:30:00 CET" in timeline  # ringing at T0+0.4 s, in Paris time
    assert "rejected" in timeline and "hangup.initiator" in timeline  # the malformed BYE and why
    assert "remote 200" in timeline
    assert "2026-03-29 01:31:02 CET" in section(html, "hangup")  # ended at T0+62 s, Paris time
    hangup = section(html, "hangup")
    assert "bye" in hangup and "remote" in hangup and "200" in hangup
    raw = section(html, "raw")
    assert "&quot;call_id&quot;: &quot;alpha-answered@gw&quot;" in raw


def test_read_only_no_save_buttons(staff_client, superuser_client, calls):
    a, _ = calls
    for client in (staff_client, superuser_client):
        html = page(client, a.answered)
        assert 'name="_save"' not in html and "deletelink" not in html
    pk = Call.objects.get(call_id=a.answered).pk
    response = superuser_client.post(reverse("admin:cdr_call_change", args=[pk]), {"status": "failed"})
    assert response.status_code == 403
    assert Call.objects.get(pk=pk).status == "completed"


def test_transfer_links_inbound_and_agent_legs_both_ways(staff_client, calls):
    a, _ = calls
    inbound_pk = Call.objects.get(call_id=a.inbound).pk
    agent_pk = Call.objects.get(call_id=a.agent).pk
    legs = section(page(staff_client, a.inbound), "legs")
    assert f'class="cdr-agent-leg" href="/admin/cdr/call/{agent_pk}/change/"' in legs
    assert "sip:agent@alpha.pbx" in legs and "bridged" in legs
    legs = section(page(staff_client, a.agent), "legs")
    assert f'class="cdr-inbound-leg" href="/admin/cdr/call/{inbound_pk}/change/"' in legs
    assert f'class="cdr-parent-leg" href="/admin/cdr/call/{inbound_pk}/change/"' in legs
    timeline = section(page(staff_client, a.inbound), "timeline")
    assert re.findall(r'data-type="(\w+)"', timeline) == [
        "ringing",
        "established",
        "transfer_started",
        "bridge_started",
        "bye",
    ]


def test_recording_section_plays_and_lists_who_listened(staff_client, staff_user, calls):
    a, _ = calls
    html = section(page(staff_client, a.answered), "recordings")
    assert '<audio controls preload="none" src="/recordings/' in html
    assert "SHA-256" in html and "<td>0:02</td>" in html and "Nobody yet." in html
    src = re.search(r'<audio controls preload="none" src="([^"]+)"', html).group(1).replace("&amp;", "&")
    response = staff_client.get(src)
    assert response.status_code == 302
    played = staff_client.get(response["Location"], HTTP_RANGE="bytes=0-99")
    assert played.status_code == 206 and played["Content-Range"].startswith("bytes 0-99/")
    assert RecordingAccess.objects.filter(user=staff_user, purpose="playback").count() == 1
    html = section(page(staff_client, a.answered), "recordings")
    assert "alice" in html and "playback" in html
    assert "No recording for this call." in section(page(staff_client, a.failed), "recordings")


def test_detail_query_count_is_pinned(staff_client, calls, django_assert_max_num_queries):
    a, _ = calls
    # session, user, memberships, the call (+ tenant), events, hangup, transfers both ways,
    # correlated parent and children, recordings and their access log, permissions (2).
    with django_assert_max_num_queries(14):
        page(staff_client, a.inbound)


def test_timeline_says_who_delivered_each_event(superuser_client, calls):
    from cdr.services import events_ingest
    from cdr.services.gateways import gateway_create
    from tests.support.factories import bye, call, event

    edge = gateway_create(name="edge-paris", tenant_ids=[7]).gateway
    gone = gateway_create(name="edge-old", tenant_ids=[7]).gateway
    meta = call("gw-delivered@gw", tenant_id=7)
    events_ingest(events=[dict(event("ringing", 0, meta), gateway_id=edge.pk)], source="http")
    events_ingest(events=[dict(event("established", 1, meta), gateway_id=gone.pk)], source="http")
    events_ingest(events=[bye(5, 5, meta)])
    gone_pk = gone.pk
    gone.delete()
    timeline = section(page(superuser_client, "gw-delivered@gw"), "timeline")
    by = re.findall(r'<td class="cdr-delivered-by">([^<]*)</td>', timeline)
    assert by == ["gateway edge-paris", f"gateway #{gone_pk} (deleted)", "sink"]


def test_another_tenants_copy_of_a_call_id_is_shown_rejected_to_superusers_only(staff_client, superuser_client, calls):
    """Issue 16, item 1: events naming another tenant for an owned call stay in the log, rejected
    with the reason; they are that tenant's data, not this call's."""
    a, _ = calls
    intruder = call(a.answered, tenant_id=TENANT_B, remote_addr="192.0.2.66:5060")
    assert events_ingest(events=[event("established", 0.5, intruder)]).rejected == 1
    assert Call.objects.get(call_id=a.answered).remote_addr == "203.0.113.5:5060"
    for client, shown in ((superuser_client, True), (staff_client, False)):
        html = page(client, a.answered)
        assert ("192.0.2.66" in html) is shown
        assert ("belongs to tenant 7 (bound first)" in section(html, "timeline")) is shown


def test_durations_are_formatted_not_raw_milliseconds(staff_client, calls):
    a, _ = calls
    html = page(staff_client, a.answered)
    # ringing at +0.4 s; established at +2 s; ended at +62 s: talk 1:00, total 1:02.
    assert re.search(r"Post-dial delay:</label>\s*<div class=\"readonly\">0.4 s</div>", html), html
    assert re.search(r"Duration:</label>\s*<div class=\"readonly\">1:02</div>", html)
    assert re.search(r"Billable:</label>\s*<div class=\"readonly\">1:00</div>", html)
    assert "Pdd ms" not in html and "Duration ms" not in html and " ms<" not in html
    assert " ms<" not in section(html, "hangup")


def test_a_failed_transfer_attempt_shows_the_agent_legs_sip_code_and_reason(staff_client, calls):
    inbound = transferred_twice(TENANT_A, "two")
    legs = section(page(staff_client, inbound), "legs")
    outcomes = re.findall(r'<td class="cdr-transfer-outcome">(.*?)</td>', legs)
    assert outcomes == ['failed: <span class="cdr-transfer-end">486 Busy Here</span>', "bridged"]
    assert "sip:alice@two.pbx" in legs and "sip:bob@two.pbx" in legs


def test_a_tenant_zone_that_is_no_zone_is_said_not_silently_utc(staff_client, calls):
    a, _ = calls
    Tenant.objects.filter(id=TENANT_A).update(time_zone="Europe/Pariss")
    html = page(staff_client, a.answered)
    times = html[html.index("cdr-times") :]
    assert "(UTC: &quot;Europe/Pariss&quot; is not a time zone)" in times[:400]
    assert "2026-03-29 00:30:00 UTC" in times  # shown in UTC, and labelled so
