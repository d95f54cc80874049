"""manage.py cdr_erase: a dry run by default, --apply erases, bad arguments are one line."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from cdr.models import Call, RecordDeletion
from tests.support.factories import T0
from tests.support.records import call_seed

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    call_seed("p1@gw", 7, T0, remote="198.51.100.23:5060")
    call_seed("t9@gw", 9, T0, remote="198.51.100.23:5060")


def erase(*args):
    out = io.StringIO()
    call_command("cdr_erase", *args, stdout=out)
    return out.getvalue()


def test_dry_run_then_apply(seeded):
    out = erase("--tenant", "7", "--remote-addr", "198.51.100.23")
    assert "would erase in tenant 7: 1 calls matched, 1 call records, 4 event payloads" in out
    assert "  call p1@gw" in out and "dry run: nothing changed" in out
    assert Call.objects.get(call_id="p1@gw").remote_addr and not RecordDeletion.objects.exists()
    out = erase("--tenant", "7", "--remote-addr", "198.51.100.23", "--apply")
    assert "erased in tenant 7: 1 calls matched, 1 call records, 4 event payloads" in out
    assert Call.objects.get(call_id="p1@gw").remote_addr == ""
    assert Call.objects.get(call_id="t9@gw").remote_addr == "198.51.100.23:5060"
    assert RecordDeletion.objects.get().actor == "command cdr_erase"
    assert "0 call records, 0 event payloads" in erase("--tenant", "7", "--call-id", "p1@gw", "--apply")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--call-id", "x"], "--tenant is required"),
        (["--tenant", "-1", "--call-id", "x"], "--tenant: expected an unsigned integer"),
        (["--tenant", "7"], "exactly one of"),
        (["--tenant", "7", "--call-id", "x", "--remote-addr", "y"], "exactly one of"),
        (["--tenant", "7", "--label", "nokey"], "label: expected key=value"),
        (["--tenant", "7", "--label", "customer=42"], "no Call.labels yet"),
        (["--tenant", "7", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_arguments_are_one_line_errors(args, message):
    with pytest.raises(CommandError, match=message):
        erase(*args)


def test_bad_arguments_exit_non_zero_with_one_line_and_no_traceback(tmp_path):
    for args, line in (
        (["--tenant", "7"], "CommandError: give exactly one of --call-id, --remote-addr, --label"),
        (["--tenant", "7", "--bogus"], "CommandError: Error: unrecognized arguments: --bogus"),
    ):
        proc = subprocess.run(
            [sys.executable, "manage.py", "cdr_erase", *args],
            capture_output=True,
            text=True,
            env={"PATH": "/usr/bin:/bin", "CDR_VAR_DIR": str(tmp_path)},
        )
        assert proc.returncode != 0
        assert proc.stderr.strip().splitlines() == [line]
