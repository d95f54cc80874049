import csv
import io
import json
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

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


@pytest.mark.parametrize(
    "args, message",
    [
        (["--since", "yesterday"], "--since: not an RFC 3339 timestamp"),
        (["--until", "2026-01-01T00:00:00"], "--until: give a UTC offset"),
        (["--tenant", "-3"], "--tenant: expected an unsigned integer"),
        (["--tenant", "²"], "--tenant: expected an unsigned integer"),
        (["--since", "9999-12-31T23:59:59-14:00"], "--since: out of range"),
        (["--until", "0001-01-01T00:00:00+14:00"], "--until: out of range"),
    ],
)
def test_bad_arguments_are_one_line_errors(args, message):
    with pytest.raises(CommandError, match=message):
        export(*args)


def test_bad_arguments_exit_non_zero_with_one_line_and_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "manage.py", "cdr_export", "--since", "nope"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "CDR_VAR_DIR": str(tmp_path)},
    )
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == ["CommandError: --since: not an RFC 3339 timestamp: 'nope'"]
