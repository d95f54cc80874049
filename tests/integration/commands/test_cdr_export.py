import csv
import io
import json
import re
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from cdr.models import Tenant
from cdr.reports.columns import CALL_COLUMNS
from cdr.services import events_ingest
from tests.support.factories import T0, bye, call, event

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_calls():
    for i, tenant in enumerate([1, 1, 2]):
        meta = call(call_id=f"c{i}", tenant_id=tenant, started_at=(T0 + timedelta(hours=i)).isoformat())
        events_ingest(
            events=[
                event("ringing", 3600 * i + 0.25, meta),
                event("established", 3600 * i + 1, meta),
                bye(3600 * i + 61, 3600 * i + 61, meta),
            ]
        )


def export(*args):
    out = io.StringIO()
    call_command("cdr_export", *args, stdout=out)
    return out.getvalue()


def test_ndjson_has_every_record_field_in_rfc3339_utc(three_calls):
    lines = export("--format", "ndjson").splitlines()
    assert len(lines) == 3
    first = json.loads(lines[0])
    assert list(first) == list(CALL_COLUMNS)
    assert first["started_at"] == "2026-03-29T00:30:00Z"
    assert first["ended_at"] == "2026-03-29T00:31:01Z"
    assert (first["duration_ms"], first["billable_ms"], first["pdd_ms"]) == (61000, 60000, 250)
    assert (first["status"], first["sip_code"], first["hangup_initiator"]) == ("completed", 200, "remote")


def test_csv_and_filters(three_calls):
    rows = list(csv.DictReader(io.StringIO(export("--format", "csv", "--tenant", "1"))))
    assert [r["call_id"] for r in rows] == ["c0", "c1"]
    since = export("--since", "2026-03-29T01:30:00+00:00", "--until", "2026-03-29T02:31:00Z")
    assert [json.loads(x)["call_id"] for x in since.splitlines()] == ["c1", "c2"]


def ids(*args):
    return [json.loads(x)["call_id"] for x in export(*args).splitlines()]


@pytest.mark.parametrize(
    "args, expected",
    [
        # The API's time grammar: a plain date, the hint's 2026-03-29Z, 9 fractional digits.
        (["--since", "2026-03-29"], ["c0", "c1", "c2"]),
        (["--until", "2026-03-28"], []),
        (["--until", "2026-03-29Z"], ["c0", "c1", "c2"]),  # the whole UTC day
        (["--started-after", "2026-03-29T01:30:00.000000001Z"], ["c1", "c2"]),
        (["--since", "2026-03-29T02:30:00+01:00", "--until", "2026-03-29T01:31"], ["c1"]),  # no offset: UTC
        # The new filters (each call lasts 61 s and ends 200; c2 is tenant 2's).
        (["--ended-after", "2026-03-29T01:31:01Z"], ["c1", "c2"]),
        (["--ended-before", "2026-03-29T01:31:01Z"], ["c0"]),
        (["--min-duration-ms", "61000", "--max-duration-ms", "61000"], ["c0", "c1", "c2"]),
        (["--min-duration-ms", "61001"], []),
        (["--sip-class", "2xx", "--tenant", "2"], ["c2"]),
        (["--sip-class", "4xx"], []),
        (["--remote-addr", "203.0.113."], ["c0", "c1", "c2"]),
        (["--remote-addr", "198."], []),
        (["--status", "completed", "--direction", "inbound"], ["c0", "c1", "c2"]),
    ],
)
def test_filters_as_the_apis(three_calls, args, expected):
    assert ids(*args) == expected


def test_a_plain_date_is_the_tenants_day_with_tenant_else_utc(three_calls):
    Tenant.objects.filter(id=1).update(time_zone="America/New_York")  # 2026-03-29 there: from 04:00Z
    assert ids("--tenant", "1", "--since", "2026-03-29") == []
    assert ids("--tenant", "1", "--since", "2026-03-29Z") == ["c0", "c1"]
    assert ids("--since", "2026-03-29") == ["c0", "c1", "c2"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--since", "yesterday"], "--since: expected a date or a date-time"),
        (["--until", "2026-01-01T00:00:00+25:00"], "--until: not a valid UTC offset"),
        (["--tenant", "-3"], "--tenant: expected an unsigned 64-bit integer"),
        (["--tenant", "²"], "--tenant: expected an unsigned 64-bit integer"),
        (["--since", "9999-12-31T23:59:59-14:00"], "--since: outside years 1 to 9999 in UTC"),
        (["--until", "0001-01-01T00:00:00+14:00"], "--until: outside years 1 to 9999 in UTC"),
        (["--ended-before", "9999-12-31"], "--ended-before: outside years 1 to 9999 in UTC"),
        (["--ended-after", "0000-01-01"], "--ended-after: outside years 1 to 9999 in UTC"),
        (["--min-duration-ms", "9" * 30], "--min-duration-ms: expected a number of milliseconds"),
        (["--sip-class", "4"], "--sip-class: expected one of 1xx, 2xx"),
        (["--remote-addr", "1\x00"], "--remote-addr: NUL characters are not allowed"),
    ],
)
def test_bad_arguments_are_one_line_errors(args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        export(*args)


def test_bad_arguments_exit_non_zero_with_one_line_and_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "manage.py", "cdr_export", "--since", "nope"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "CDR_VAR_DIR": str(tmp_path)},
    )
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == [
        "CommandError: --since: expected a date or a date-time "
        "(2026-12-03, 2026-12-03T08:30:00Z or 2026-12-03T08:30:00+01:00), got 'nope'"
    ]
