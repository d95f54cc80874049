"""Production mode under gunicorn serves its own static files: hashed, compressed, referenced by the pages."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.gunicorn import gunicorn, manage, production_env


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    var = tmp_path_factory.mktemp("var")
    env = production_env(var, DJANGO_SUPERUSER_PASSWORD="deploy-test-password")
    manage(env, "collectstatic", "--noinput")
    manage(env, "migrate", "--noinput")
    manage(env, "createsuperuser", "--noinput", "--username", "ops", "--email", "ops@example.com")
    manage(env, "shell", "-c", "from cdr.models import Tenant; Tenant.objects.create(id=7, name='Seven')")
    with gunicorn(env, var / "gunicorn.log") as server:
        yield server, var


def test_collectstatic_writes_hashed_compressed_copies_of_every_asset(web):
    _, var = web
    manifest = json.loads((var / "static" / "staticfiles.json").read_text())["paths"]
    for name in ("admin/css/base.css", "admin/js/core.js", "cdr/vendor/chart.umd.min.js", "cdr/reports.js"):
        hashed = manifest[name]
        assert re.search(r"\.[0-9a-f]{12}\.", hashed), hashed
        assert (var / "static" / (hashed + ".gz")).exists()


def test_the_admin_page_references_hashed_css_that_is_served_compressed_and_cached(web):
    server, _ = web
    status, _, page = server.get("/admin/login/")
    assert status == 200
    (css,) = re.findall(rb'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page)
    status, headers, body = server.get(css.decode(), {"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert "immutable" in headers["Cache-Control"]
    # The unhashed name works too (WhiteNoise), so a stale page still gets its styles.
    status, _, body = server.get("/static/admin/css/base.css")
    assert status == 200 and b"--body-bg" in body


def test_the_reports_page_loads_the_vendored_chart_js_by_its_hashed_name(web):
    server, _ = web
    server.admin_login("ops")
    # A tenant's report (a superuser lands on the all-tenants overview, which draws no chart).
    _, _, page = server.get("/admin/cdr/report/?tenant=7")
    scripts = re.findall(rb'<script src="(/static/cdr/[^"]+)"', page)
    (chart,) = [s.decode() for s in scripts if b"/chart.umd.min." in s]
    assert re.fullmatch(r"/static/cdr/vendor/chart\.umd\.min\.[0-9a-f]{12}\.js", chart)
    status, headers, body = server.get(chart)
    assert status == 200 and headers["Content-Type"].startswith("text/javascript") and b"Chart" in body
    for script in scripts:
        assert server.get(script.decode())[0] == 200, script


def test_the_api_docs_page_needs_no_outside_asset(web):
    server, _ = web
    status, _, page = server.get("/api/docs/")
    assert status == 200
    assert not re.search(rb'(src|href)="(https?:)?//', page)
    # Redoc's bundle comes from the sidecar's static files, by its hashed name, served by the app.
    (redoc,) = re.findall(rb'<script src="(/static/drf_spectacular_sidecar/[^"]+)"', page)
    assert re.fullmatch(rb"/static/drf_spectacular_sidecar/redoc/bundles/redoc\.standalone\.[0-9a-f]{12}\.js", redoc)
    status, headers, body = server.get(redoc.decode())
    assert status == 200 and headers["Content-Type"].startswith("text/javascript") and b"Redoc" in body
