"""The PostgreSQL export (rows formatted by COPY) and the Python one write the same bytes."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.db import connection

from cdr.api.calls_export import EXPORT_FIELDS, calls_export_chunks
from cdr.models import Call, Tenant
from tests.support.factories import T0

pytestmark = pytest.mark.django_db

NASTY = [
    "plain",
    "",
    "comma, inside",
    'quote " inside',
    '"starts with a quote',
    "new\nline",
    "carriage\rreturn",
    "crlf\r\nend",
    "tab\there",
    "back\\slash \\N",
    "unicodé ☎ 电话 😀",
    "control \x01\x1f chars",
    " leading and trailing ",
    "\\.",
]


@pytest.fixture
def nasty_calls(db):
    Tenant.objects.bulk_create([Tenant(id=7), Tenant(id=2**64 - 1), Tenant(id=2**63)])
    rows = []
    for i, text in enumerate(NASTY):
        rows.append(
            Call(
                call_id=f"c{i}-{text}",
                correlation_id=text,
                tenant_id=[7, 2**64 - 1, 2**63][i % 3],
                direction="inbound",
                scenario=text[:64],
                status="completed",
                remote_addr=text,
                local_ip="",
                codec="pcma",
                # Whole seconds, milliseconds and microseconds: isoformat() omits a zero fraction.
                started_at=T0 + timedelta(seconds=i, microseconds=[0, 1, 120000, 999999][i % 4]),
                ringing_at=None if i % 2 else T0 + timedelta(seconds=i, microseconds=500),
                established_at=None,
                ended_at=T0 + timedelta(days=400 * i),
                duration_ms=None if i % 3 else i * 1000,
                billable_ms=0,
                pdd_ms=-5 if i == 1 else None,
                hangup_initiator="" if i % 2 else "remote",
                sip_code=None if i % 2 else 486,
                hangup_reason=text,
                transferred=bool(i % 2),
                has_recording=bool(i % 3),
            )
        )
    Call.objects.bulk_create(rows)
    return Call.objects.all()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY path is PostgreSQL's")
@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_both_paths_write_the_same_bytes(nasty_calls, fmt):
    fast = b"".join(calls_export_chunks(nasty_calls, fmt, fast=True))
    slow = b"".join(calls_export_chunks(nasty_calls, fmt, fast=False))
    assert fast.decode().splitlines()[:3] == slow.decode().splitlines()[:3]
    assert fast == slow


@pytest.mark.parametrize("fast", [True, False])
def test_what_they_write_reads_back_as_the_rows(nasty_calls, fast):
    if fast and connection.vendor != "postgresql":
        pytest.skip("the COPY path is PostgreSQL's")
    want = {c.call_id: c for c in nasty_calls}
    text = b"".join(calls_export_chunks(nasty_calls, "csv", fast=fast)).decode()
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(rows) == len(NASTY) and tuple(rows[0]) == EXPORT_FIELDS
    for row in rows:
        c = want[row["call_id"]]
        assert row["remote_addr"] == c.remote_addr and row["hangup_reason"] == c.hangup_reason
        assert int(row["tenant_id"]) == c.tenant_id
        assert row["duration_ms"] == ("" if c.duration_ms is None else str(c.duration_ms))
        assert row["transferred"] == ("true" if c.transferred else "false")
    records = [
        json.loads(line) for line in b"".join(calls_export_chunks(nasty_calls, "ndjson", fast=fast)).splitlines()
    ]
    assert [r["started_at"] for r in records] == sorted(r["started_at"] for r in records)
    for r in records:
        c = want[r["call_id"]]
        assert (r["correlation_id"], r["tenant_id"], r["sip_code"]) == (c.correlation_id, c.tenant_id, c.sip_code)
        assert r["started_at"] == c.started_at.isoformat().replace("+00:00", "Z")
        assert r["ringing_at"] == (c.ringing_at.isoformat().replace("+00:00", "Z") if c.ringing_at else None)
        assert r["has_recording"] is c.has_recording


def test_a_user_without_tenants_gets_only_the_header(nasty_calls):
    none = nasty_calls.filter(tenant_id__in=[])
    assert b"".join(calls_export_chunks(none, "csv")) == (",".join(EXPORT_FIELDS) + "\n").encode()
    assert b"".join(calls_export_chunks(none, "ndjson")) == b""


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY path is PostgreSQL's")
def test_a_client_leaving_mid_copy_leaves_the_connection_usable(db):
    """A closed download stops the COPY; the request's connection still answers queries."""
    Tenant.objects.create(id=7)
    Call.objects.bulk_create(
        Call(call_id=f"many-{i}@gw", tenant_id=7, direction="inbound", status="completed", started_at=T0)
        for i in range(3000)
    )
    chunks = calls_export_chunks(Call.objects.all(), "ndjson", fast=True)
    first = next(chunks)
    assert len(first) >= 64 * 1024 and first.count(b"\n") < 3000
    chunks.close()
    assert Call.objects.count() == 3000
