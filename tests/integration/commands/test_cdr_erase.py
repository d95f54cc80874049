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
    # A Call-ID names the call and its agent leg (whose own address was no one's to erase by address).
    out = erase("--tenant", "7", "--call-id", "p1@gw", "--apply")
    assert "2 calls matched, 1 call records, 3 event payloads" in out and "  call p1@gw-agent" in out
    assert "0 call records, 0 event payloads" in erase("--tenant", "7", "--call-id", "p1@gw", "--apply")


def test_by_label_dry_run_then_apply_in_one_tenant():
    call_seed("l1@gw", 7, T0, labels={"from": "+33612345678", "campaign": "spring"})
    call_seed("t9@gw", 9, T0, labels={"from": "+33612345678"})
    out = erase("--tenant", "7", "--label", "from=+33612345678")
    assert "would erase in tenant 7: 1 calls matched, 1 call records, 4 event payloads" in out
    assert "  call l1@gw" in out and Call.objects.get(call_id="l1@gw").labels["from"] == "+33612345678"
    out = erase("--tenant", "7", "--label", "from=+33612345678", "--apply")
    assert "erased in tenant 7: 1 calls matched, 1 call records, 4 event payloads" in out
    assert Call.objects.get(call_id="l1@gw").labels == {"from": "erased", "campaign": "erased"}
    assert Call.objects.get(call_id="t9@gw").labels == {"from": "+33612345678"}
    assert "0 calls matched" in erase("--tenant", "7", "--label", "from=+33612345678")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--call-id", "x"], "--tenant is required"),
        (["--tenant", "-1", "--call-id", "x"], "--tenant: expected an unsigned integer"),
        (["--tenant", "7"], "exactly one of"),
        (["--tenant", "7", "--call-id", "x", "--remote-addr", "y"], "exactly one of"),
        (["--tenant", "7", "--label", "nokey"], "label: expected KEY=VALUE"),
        (["--tenant", "7", "--label", "caller id=42"], "label: key 'caller id': expected"),
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


SQLITE_SEED = """
import os, sys
sys.path.insert(0, os.getcwd())
os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
import django; django.setup()
from django.core.management import call_command
from django.db import connection
assert connection.vendor == "sqlite"
call_command("migrate", verbosity=0)
from tests.support.factories import T0
from tests.support.records import call_seed
call_seed("l1@gw", 7, T0, labels={"from": "+33612345678", "contains": "x"})
call_seed("t9@gw", 9, T0, labels={"from": "+33612345678"})
"""

SQLITE_STATE = """
import os, sys
sys.path.insert(0, os.getcwd())
os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
import django; django.setup()
from cdr.models import Call, CallEvent
for c in Call.objects.filter(call_id__in=["l1@gw", "t9@gw"]).order_by("call_id"):
    payloads = CallEvent.objects.filter(call_id=c.call_id).values_list("payload", flat=True)
    n = sum("+33612345678" in str(p) for p in payloads)
    print(c.call_id, sorted(c.labels.items()), n)
"""


def test_by_label_on_sqlite_the_embedded_default(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "CDR_VAR_DIR": str(tmp_path), "HOME": str(tmp_path)}

    def run(*args):
        proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stdout

    run("-c", SQLITE_SEED)
    assert (tmp_path / "cdr.sqlite3").exists()
    before = run("-c", SQLITE_STATE)
    out = run("manage.py", "cdr_erase", "--tenant", "7", "--label", "from=+33612345678")
    assert "would erase in tenant 7: 1 calls matched, 1 call records, 4 event payloads" in out, out
    assert run("-c", SQLITE_STATE) == before
    assert "0 calls matched" in run("manage.py", "cdr_erase", "--tenant", "7", "--label", "contains=+33612345678")
    out = run("manage.py", "cdr_erase", "--tenant", "7", "--label", "from=+33612345678", "--apply")
    assert "erased in tenant 7: 1 calls matched, 1 call records, 4 event payloads" in out, out
    assert run("-c", SQLITE_STATE).splitlines() == [
        "l1@gw [('contains', 'erased'), ('from', 'erased')] 0",
        "t9@gw [('from', '+33612345678')] 4",
    ]
