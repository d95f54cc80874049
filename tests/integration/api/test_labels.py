"""Call labels end to end: ingested events -> Call.labels -> the API's label filter and fields, in the
caller's tenants only, on the GIN index; cdr_export --label."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from cdr.models import Call
from cdr.selectors import calls_with_labels
from cdr.services import events_ingest
from tests.support.factories import bye, call, event
from tests.support.tenants import TENANT_A, TENANT_B

pytestmark = pytest.mark.django_db

NUMBER = "+33612345678"


@pytest.fixture
def labelled(calls):
    """One labelled call in each tenant (same caller number), labels spread over its events."""
    for tenant, call_id in ((TENANT_A, "lab-a@gw"), (TENANT_B, "lab-b@gw")):
        first = call(call_id=call_id, tenant_id=tenant, labels={"from": NUMBER, "to": "+3318400000"})
        later = call(call_id=call_id, tenant_id=tenant, labels={"to": "+3318400007", "campaign": "spring"})
        events_ingest(events=[event("ringing", 1, first), event("established", 2, later), bye(9, 9, later)])
    return "lab-a@gw", "lab-b@gw"


def test_labels_of_the_events_fold_onto_the_call(labelled):
    stored = Call.objects.get(call_id="lab-a@gw").labels
    assert stored == {"campaign": "spring", "from": NUMBER, "to": "+3318400007"}


def test_a_rejected_label_is_a_rejected_event_with_its_reason(calls):
    from cdr.models import CallEvent

    events_ingest(events=[event("ringing", 1, call(call_id="bad@gw", labels={"from": 33}))])
    rejected = CallEvent.objects.get(call_id="bad@gw")
    assert rejected.status == "rejected" and rejected.reason == "call.labels.from: expected a string, got int"
    assert not Call.objects.filter(call_id="bad@gw").exists()


def ids(response):
    assert response.status_code == 200, response.content
    return [r["call_id"] for r in response.json()["results"]]


def test_the_list_filters_by_label_in_the_callers_tenants_only(api, labelled):
    assert ids(api.get("/api/v1/calls/", {"label": f"from={NUMBER}"})) == ["lab-a@gw"]
    both = api.get("/api/v1/calls/", {"label": [f"from={NUMBER}", "campaign=spring"]})
    assert ids(both) == ["lab-a@gw"]
    assert ids(api.get("/api/v1/calls/", {"label": [f"from={NUMBER}", "campaign=autumn"]})) == []  # AND
    assert ids(api.get("/api/v1/calls/", {"label": "to=+3318400000"})) == []  # replaced by the later event
    assert ids(api.get("/api/v1/calls/", {"label": "from=+33612"})) == []  # exact, not a prefix
    record = api.get("/api/v1/calls/", {"label": f"from={NUMBER}"}).json()["results"][0]
    assert record["labels"] == {"campaign": "spring", "from": NUMBER, "to": "+3318400007"}
    assert list(record["labels"]) == sorted(record["labels"])
    detail = api.get("/api/v1/calls/lab-a@gw/").json()
    assert detail["labels"] == record["labels"]
    # Tenant B's call with the same number stays invisible, by filter or by export.
    other = api.get("/api/v1/calls/", {"label": f"from={NUMBER}", "tenant": str(TENANT_B)})
    assert other.status_code != 200 or ids(other) == []
    export = api.get("/api/v1/calls/export", {"format": "ndjson", "label": f"from={NUMBER}"})
    body = b"".join(export.streaming_content).decode()
    assert "lab-a@gw" in body and "lab-b@gw" not in body


@pytest.mark.parametrize(
    ("term", "reason"),
    [
        ("from", "expected KEY=VALUE, got 'from'"),
        ("a b=1", "key 'a b': expected 1..64 characters"),
        ("=1", "key '': expected"),
        ("to=" + "x" * 257, "the value of to is longer than 256 characters"),
        (["to=1", "to=2"], "to given twice with different values"),
        ([f"k{i}=v" for i in range(17)], "17 keys, at most 16"),
    ],
)
def test_a_bad_label_term_is_a_400_naming_label(api, labelled, term, reason):
    for path in ("/api/v1/calls/", "/api/v1/calls/export"):
        response = api.get(path, {"label": term, "format": "csv"} if "export" in path else {"label": term})
        assert response.status_code == 400
        assert reason in response.json()["label"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the GIN index is PostgreSQL's")
def test_the_label_filter_is_served_by_the_gin_index(labelled):
    qs = calls_with_labels(Call.objects.all(), {"from": NUMBER})
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a test table is tiny: ask what it would use
        plan = qs.explain()
    assert "cdr_call_labels" in plan


def test_cdr_export_label(labelled):
    out = io.StringIO()
    call_command("cdr_export", "--format", "csv", "--label", f"from={NUMBER}", "--label", "campaign=spring", stdout=out)
    rows = out.getvalue().splitlines()
    assert len(rows) == 3 and rows[0].endswith(",labels")  # both tenants' calls: the command sees all
    assert '"{""campaign"":""spring"",""from"":""+33612345678"",""to"":""+3318400007""}"' in rows[1]
    with pytest.raises(CommandError, match=r"^--label: expected KEY=VALUE, got 'nope'$"):
        call_command("cdr_export", "--label", "nope", stdout=io.StringIO())
