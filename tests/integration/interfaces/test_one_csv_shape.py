"""One CSV shape (issue 17): every writer of call records gives the same bytes for the same calls.

cdr_export, the admin's CSV action, the API's list page as CSV and ``/export`` on both its paths
(PostgreSQL's COPY, where it runs, and Python): same header, same columns in the same order, same
time format, same neutralised cells, the labels as one JSON cell (cdr.reports.columns).
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
from cdr.reports.columns import CALL_COLUMNS, COLUMNS
from cdr.services.api_tokens import api_token_create
from tests.support.factories import T0

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY path is PostgreSQL's"),
]

TEXTS = ["plain", "", "comma, inside", 'quote " in', "new\nline", "=1+1", "+33 6", "unicodé ☎ 😀", "ctl \x01\x1f"]
LABELS = [
    {},
    {"from": "+33612345678", "to": "+33184000007", "did": "+33184000007"},
    {"campaign": "spring, 2026", "z": 'quote " and \\ back', "a": "é☎😀", "k:1": "new\nline\ttab\x01"},
    {"to": "=HYPERLINK(1)"},
    {"b": "", "a.b/c-d_e": "x"},
]


@pytest.fixture
def calls(db, django_user_model):
    Tenant.objects.bulk_create([Tenant(id=7), Tenant(id=2**64 - 1)])
    rows = []
    for i, text in enumerate(TEXTS):
        rows.append(
            Call(
                call_id=f"c{i}{text}",
                correlation_id=text,
                tenant_id=[7, 2**64 - 1][i % 2],
                direction="inbound",
                scenario=text,
                status="completed" if i % 3 else "ringing",
                remote_addr=text,
                local_ip="10.0.0.2",
                codec="pcma",
                started_at=T0 + timedelta(seconds=i, microseconds=[0, 1, 250000][i % 3]),
                ringing_at=None if i % 2 else T0 + timedelta(seconds=i, microseconds=500),
                ended_at=None if i % 3 == 0 else T0 + timedelta(minutes=i),
                duration_ms=None if i % 3 == 0 else i * 60_000,
                billable_ms=None if i % 3 == 0 else 0,
                pdd_ms=-5 if i == 1 else None,
                hangup_initiator="" if i % 3 == 0 else "remote",
                sip_code=None if i % 2 else 486,
                hangup_reason=text,
                transferred=bool(i % 2),
                has_recording=bool(i % 3 == 1),
                labels=LABELS[i % len(LABELS)],
            )
        )
    Call.objects.bulk_create(rows)
    return Call.objects.all()


@pytest.fixture
def root(django_user_model):
    return django_user_model.objects.create_superuser("root", password="x" * 12)


def writers(root) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    stdout = io.StringIO()
    call_command("cdr_export", "--format", "csv", stdout=stdout)
    out["cdr_export"] = stdout.getvalue().encode()
    admin = Client()
    admin.force_login(root)
    pks = list(Call.objects.values_list("pk", flat=True))
    response = admin.post(reverse("admin:cdr_call_changelist"), {"action": "export_csv", "_selected_action": pks})
    assert response.status_code == 200
    out["admin action"] = b"".join(response.streaming_content)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=root, name='bi').key}")
    response = api.get("/api/v1/calls/", {"format": "csv", "order": "asc", "page_size": 1000})
    assert response.status_code == 200
    out["API list"] = response.content
    response = api.get("/api/v1/calls/export", {"format": "csv"})
    assert response.status_code == 200
    out["API export (COPY)"] = b"".join(response.streaming_content)
    out["API export (Python)"] = b"".join(calls_export_chunks(Call.objects.all(), "csv", fast=False))
    return out


def test_every_writer_gives_the_same_header_and_rows(calls, root):
    bodies = writers(root)
    reference = bodies["API export (Python)"]
    for name, body in bodies.items():
        assert body.decode().splitlines()[:3] == reference.decode().splitlines()[:3], name
        assert body == reference, name
    rows = list(csv.reader(io.StringIO(reference.decode(), newline="")))
    assert tuple(rows[0]) == CALL_COLUMNS == tuple(name for name, _ in COLUMNS)
    assert len(rows) == len(TEXTS) + 1 and all(len(r) == len(CALL_COLUMNS) for r in rows)
    by_id = {c.call_id: c for c in calls}
    for row in map(dict, (zip(CALL_COLUMNS, r, strict=True) for r in rows[1:])):
        call = by_id[row["call_id"].removeprefix("'")]
        assert row["labels"] == ("" if not call.labels else json.dumps(dict(sorted(call.labels.items())), **JSON))
        assert row["started_at"] == call.started_at.isoformat().replace("+00:00", "Z")
        assert row["transferred"] == ("true" if call.transferred else "false")
    assert {r[CALL_COLUMNS.index("scenario")] for r in rows[1:]} >= {"'=1+1", "'+33 6"}  # neutralised


JSON = {"ensure_ascii": False, "separators": (",", ":")}


def test_ndjson_is_the_same_too_with_labels_as_objects(calls, root):
    stdout = io.StringIO()
    call_command("cdr_export", "--format", "ndjson", stdout=stdout)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=root, name='bi').key}")
    page = api.get("/api/v1/calls/", {"format": "ndjson", "order": "asc", "page_size": 1000}).content
    fast = b"".join(calls_export_chunks(Call.objects.all(), "ndjson", fast=True))
    slow = b"".join(calls_export_chunks(Call.objects.all(), "ndjson", fast=False))
    assert stdout.getvalue().encode() == page == fast == slow
    records = [json.loads(line) for line in slow.splitlines()]
    assert all(list(r) == list(CALL_COLUMNS) for r in records)
    assert [r["labels"] for r in records] == [dict(sorted(c.labels.items())) for c in calls.order_by("started_at")]
