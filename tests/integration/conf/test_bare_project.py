"""cdr installed into a bare Django project that defines none of the CDR_* settings.

The project below is what a newcomer writes from the README's "Install as an app": the app's
own defaults (cdr.conf) must carry the sink, HTTP ingestion, the API and the admin end to end.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SETTINGS = """
from pathlib import Path
HERE = Path(__file__).resolve().parent
SECRET_KEY = "bare-project-test"
DEBUG = True
ALLOWED_HOSTS = ["testserver"]
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
    "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
    "rest_framework", "drf_spectacular", "cdr",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "bare_urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": HERE / "db.sqlite3"}}
USE_TZ = True
# drf-spectacular's one requirement: /api/schema/ and /api/docs/ need its AutoSchema (check cdr.W001).
REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
STATIC_URL = "static/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "recordings": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(HERE / "recordings"), "allow_overwrite": True},
    },
}
"""

URLS = """
from django.contrib import admin
from django.urls import include, path
urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("cdr.api.urls")),
    path("ingest/", include("cdr.ingest.urls")),
    path("", include("cdr.urls")),
]
"""

SCRIPT = """
import json, os, sys
from datetime import UTC, datetime
import django
django.setup()
from django.conf import settings
assert not [n for n in dir(settings) if n.startswith("CDR_")], "the bare project defines a CDR_ setting"
assert "DEFAULT_AUTHENTICATION_CLASSES" not in settings.REST_FRAMEWORK
from django.core.management import call_command
call_command("check")  # raises SystemCheckError on any cdr.E* error
call_command("migrate", verbosity=0)

# The project has no Celery configuration: it runs tasks in-process, as the embedded default.
from celery import current_app
current_app.conf.task_always_eager = True

from cdr import simulator
from cdr.sinks import lifecycle_sink_from_settings
from tests.support.oracle import mismatches

calls = simulator.generate(40, seed=5, base_time=datetime(2026, 11, 2, tzinfo=UTC), time_scale=0.01)
sink = lifecycle_sink_from_settings()
simulator.run(calls, sink, threads=2)
assert sink.close(timeout=60), sink.stats()
problems = mismatches(simulator.expected_by_call_id(calls))
assert not problems, problems[:5]
print("sink legs", len(simulator.expected_by_call_id(calls)))

from django.test import Client
from cdr.ingest.signing import signed_headers
from cdr.models import Call
from cdr.services.gateways import gateway_create

issued = gateway_create(name="bare", tenant_ids=[42])
event = {
    "type": "ringing", "event_id": "bare-1", "observed_at": "2026-11-02T10:00:01Z",
    "call": {"call_id": "bare-http-1", "tenant_id": 42, "direction": "inbound",
             "started_at": "2026-11-02T10:00:00Z"},
}
body = json.dumps([event]).encode()
headers = signed_headers(issued.gateway.key_id, issued.secret, "POST", "/ingest/v1/events", body,
                         headers={"Content-Type": "application/json"})
answer = Client().generic("POST", "/ingest/v1/events", body, content_type="application/json", headers=headers)
assert answer.status_code == 200, (answer.status_code, answer.content[:300])
assert Call.objects.filter(call_id="bare-http-1", tenant_id=42).exists()
print("http", answer.json()["accepted"])

from django.contrib.auth.models import User
from cdr.services.api_tokens import api_token_create
admin_user = User.objects.create_superuser("root", "root@example.com", "pw-bare-project")
token = api_token_create(user=admin_user, name="bare")
page = Client().get("/api/v1/calls/?tenant=42", headers={"Authorization": f"Bearer {token.key}"})
assert page.status_code == 200, (page.status_code, page.content[:300])
assert [r["call_id"] for r in page.json()["results"]] == ["bare-http-1"]
assert Client().get("/api/v1/calls/").status_code in (401, 403)  # no project-wide default opens it
schema = Client().get("/api/schema/")
assert schema.status_code == 200 and b"/api/v1/calls/" in schema.content, schema.status_code
print("api", len(page.json()["results"]))

browser = Client()
browser.force_login(admin_user)
listing = browser.get("/admin/cdr/call/")
assert listing.status_code == 200 and b"bare-http-1" in listing.content, listing.status_code
print("admin ok")
"""


def test_the_app_runs_in_a_project_that_defines_no_cdr_setting(tmp_path):
    (tmp_path / "bare_settings.py").write_text(SETTINGS)
    (tmp_path / "bare_urls.py").write_text(URLS)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": f"{tmp_path}:{ROOT}",
        "DJANGO_SETTINGS_MODULE": "bare_settings",
    }
    # The working directory is the project's: the default spool (var/spool, relative) lands there.
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = proc.stdout.strip().splitlines()
    assert lines[-4].startswith("sink legs ") and int(lines[-4].split()[-1]) >= 40, proc.stdout
    assert lines[-3:] == ["http 1", "api 1", "admin ok"], proc.stdout
    assert (tmp_path / "var" / "spool" / "lifecycle.sqlite3").exists()
