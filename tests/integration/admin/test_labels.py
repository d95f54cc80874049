"""Call labels in the admin: the search box finds a phone number, the label filter, the call page."""

from __future__ import annotations

import re

import pytest

from cdr.models import Call
from cdr.services import events_ingest
from tests.support.factories import bye, call, event
from tests.support.tenants import TENANT_A, TENANT_B

pytestmark = pytest.mark.django_db
URL = "/admin/cdr/call/"
NUMBER = "+33612345678"


def listed(response) -> list[str]:
    assert response.status_code == 200, (response.status_code, response.get("Location"))
    return re.findall(r'aria-label="Select this object for an action - ([^"]+)"', response.content.decode())


@pytest.fixture
def labelled(calls):
    for tenant, call_id, labels in (
        (TENANT_A, "lab-a@gw", {"from": NUMBER, "did": "+33184000007", "campaign": "<b>spring</b>"}),
        (TENANT_A, "lab-a2@gw", {"to": NUMBER, "team": "support"}),
        (TENANT_B, "lab-b@gw", {"from": NUMBER}),  # another tenant's call with the same number
    ):
        meta = call(call_id=call_id, tenant_id=tenant, labels=labels)
        events_ingest(events=[event("ringing", 1, meta), bye(5, 5, meta)])


def test_the_search_box_finds_a_number_in_from_to_or_did_in_the_users_tenants(staff_client, labelled):
    assert sorted(listed(staff_client.get(URL, {"q": NUMBER}))) == ["lab-a2@gw", "lab-a@gw"]
    assert listed(staff_client.get(URL, {"q": "+33184000007"})) == ["lab-a@gw"]
    assert listed(staff_client.get(URL, {"q": "+3361234"})) == []  # exact, as the index serves it
    assert listed(staff_client.get(URL, {"q": "support"})) == []  # only the conventional keys


def test_the_superuser_search_spans_tenants(superuser_client, labelled):
    assert sorted(listed(superuser_client.get(URL, {"q": NUMBER}))) == ["lab-a2@gw", "lab-a@gw", "lab-b@gw"]


def test_the_label_filter_takes_any_key(staff_client, labelled):
    assert listed(staff_client.get(URL, {"label": "team=support"})) == ["lab-a2@gw"]
    assert listed(staff_client.get(URL, {"label": f"from={NUMBER}"})) == ["lab-a@gw"]
    page = staff_client.get(URL).content.decode()
    assert "label (key=value)" in page
    for bad in ("nope", "a b=1", "k=" + "x" * 300):
        response = staff_client.get(URL, {"label": bad})
        assert response.status_code == 302 and response["Location"].endswith("?e=1"), bad


def test_the_call_page_lists_the_labels_escaped(staff_client, labelled):
    pk = Call.objects.get(call_id="lab-a@gw").pk
    page = staff_client.get(f"{URL}{pk}/change/").content.decode()
    section = page[page.index('id="cdr-labels"') :].split("</fieldset>")[0]
    rows = re.findall(r'<tr class="cdr-label"><th>([^<]*)</th><td>(.*?)</td></tr>', section)
    assert rows == [("campaign", "&lt;b&gt;spring&lt;/b&gt;"), ("did", "+33184000007"), ("from", NUMBER)]
    other = Call.objects.get(call_id=next(c for c in Call.objects.values_list("call_id", flat=True) if "alpha" in c))
    assert "No labels." in staff_client.get(f"{URL}{other.pk}/change/").content.decode()
