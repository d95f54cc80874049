"""With no environment at all: SQLite, in-process tasks, no service. Fire, close(), find the records."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import os, sys
sys.path.insert(0, os.getcwd())
os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
import django; django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from datetime import UTC, datetime
from django.conf import settings
from cdr import simulator
from cdr.sinks import lifecycle_sink_from_settings
from tests.support.oracle import mismatches
assert settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")
calls = simulator.generate(300, seed=11, base_time=datetime(2026, 11, 1, tzinfo=UTC), time_scale=0.01)
sink = lifecycle_sink_from_settings()
simulator.run(calls, sink, threads=4)
assert sink.close(timeout=60), sink.stats()
problems = mismatches(simulator.expected_by_call_id(calls))
print("\\n".join(problems[:20]))
print("legs", len(simulator.expected_by_call_id(calls)), "mismatches", len(problems))
"""


DEMO_FIGURES = """
import os, sys
sys.path.insert(0, os.getcwd())
os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
import django; django.setup()
from zoneinfo import ZoneInfo
from django.db.models import Min, Max
from cdr.models import Call
from cdr.selectors.reports import ReportQuery
from cdr.services.reports import report_summary_fresh
broken = 0
for c in Call.objects.all():
    marks = [t for t in (c.started_at, c.ringing_at, c.established_at) if t is not None]
    broken += marks != sorted(marks)
    broken += c.ended_at is not None and c.ended_at < marks[-1]
    broken += c.status == "completed" and c.established_at is not None and not c.billable_ms
    broken += c.pdd_ms is not None and not 1000 <= c.pdd_ms <= 6000
# The reports of every tenant, added up: each tenant alone has too few calls for stable figures.
span = Call.objects.aggregate(lo=Min("started_at"), hi=Max("started_at"))
attempts = answered = billable_ms = pdd_ms = pdd_n = 0
for tenant in Call.objects.values_list("tenant_id", flat=True).distinct():
    q = ReportQuery(tenant, span["lo"].date(), span["hi"].date(), "day", ZoneInfo("UTC"))
    total = report_summary_fresh(q)["total"]
    attempts += total["attempts"]
    answered += total["answered"]
    billable_ms += total["billable_minutes"] * 60000
    if total["pdd_mean_ms"] is not None:
        with_pdd = sum(1 for c in Call.objects.filter(tenant_id=tenant) if c.pdd_ms is not None)
        pdd_ms += total["pdd_mean_ms"] * with_pdd
        pdd_n += with_pdd
print("legs=%d broken=%d" % (Call.objects.count(), broken))
print("asr=%s acd_s=%s pdd_mean_ms=%s" % (answered / attempts, billable_ms / answered / 1000, pdd_ms / pdd_n))
"""


def clean_env(tmp_path):
    return {"PATH": "/usr/bin:/bin", "CDR_VAR_DIR": str(tmp_path), "HOME": str(tmp_path)}


def test_a_script_firing_through_the_sink_finds_every_record_written(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=clean_env(tmp_path), capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1].split()
    assert last[0] == "legs" and int(last[1]) >= 300 and last[2:] == ["mismatches", "0"], proc.stdout[-3000:]
    assert (tmp_path / "cdr.sqlite3").exists()


def test_make_run_pipeline_without_the_server(tmp_path):
    proc = subprocess.run(
        [sys.executable, "manage.py", "cdr_demo", "--calls", "200", "--no-serve"],
        cwd=ROOT,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "simulated 200 calls" in proc.stdout and "sink flushed" in proc.stdout, proc.stdout
    stored, expected = re.search(r"stored (\d+) of (\d+) call legs", proc.stdout).groups()
    assert stored == expected, proc.stdout
    # What a first-time user sees: every record consistent on one clock, the reports realistic.
    report = subprocess.run(
        [sys.executable, "-c", DEMO_FIGURES], cwd=ROOT, env=clean_env(tmp_path), capture_output=True, text=True
    )
    assert report.returncode == 0, report.stderr[-3000:]
    figures = dict(line.split("=", 1) for line in report.stdout.split())
    assert figures["broken"] == "0", report.stdout
    assert int(figures["legs"]) >= 200
    assert 1000 <= float(figures["pdd_mean_ms"]) <= 6000, figures
    assert float(figures["acd_s"]) >= 30, figures
    assert 0.55 <= float(figures["asr"]) <= 0.85, figures


def test_a_bad_database_url_fails_at_start_up_naming_the_setting(tmp_path):
    env = clean_env(tmp_path) | {"DATABASE_URL": "nosuchdb://x"}
    proc = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode != 0 and proc.stderr.startswith("configuration error: DATABASE_URL is not a usable")
    assert len(proc.stderr.strip().splitlines()) == 1
    env = clean_env(tmp_path) | {"DJANGO_DEBUG": "0"}
    proc = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert proc.stderr.strip() == "configuration error: DJANGO_SECRET_KEY must be set (required when DJANGO_DEBUG=0)."


def test_make_run_serves_the_admin_fed_by_the_sink_and_by_a_gateway_over_http(tmp_path):
    """What `make run` starts: the admin, and simulated calls arriving through both ingestion paths."""
    import sqlite3
    import time
    import urllib.request

    from tests.support.processes import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "cdr_demo", "--addr", f"127.0.0.1:{port}", "--rate", "8"],
        cwd=ROOT,
        env=clean_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sources: dict[str, int] = {}
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not {"sink", "http"} <= sources.keys():
            time.sleep(0.5)
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            try:
                with sqlite3.connect(tmp_path / "cdr.sqlite3", timeout=5) as db:
                    rows = db.execute("SELECT source, count(*) FROM cdr_callevent GROUP BY source").fetchall()
                sources = dict(rows)
            except sqlite3.OperationalError:  # not migrated yet
                continue
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=10) as page:
            assert page.status == 200
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert {"sink", "http"} <= sources.keys(), (sources, err[-3000:])
    assert "login: admin" in out and "over HTTP as the gateway 'demo-http'" in out
    assert '"POST /ingest/v1/events' not in err  # the gateway's requests are not logged one by one
