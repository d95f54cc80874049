"""/api/docs/ in a real browser: Redoc, from this server's static files, renders the reference.

Run on its own: ``pytest -m browser``.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_redoc_renders_the_reference_offline_with_response_fields(live_server, page):
    outside = []
    local = (live_server.url, "blob:" + live_server.url, "data:")
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(local) else None)
    fetched, blocked = [], []
    page.on("response", lambda r: fetched.append(r.url) if not r.url.startswith(local) else None)
    page.on("requestfailed", lambda r: blocked.append(r.url) if r.failure == "csp" else None)
    page.goto(f"{live_server.url}/api/docs/")
    # Redoc has fetched /api/schema/ and drawn the operations and the response schema.
    page.get_by_text("/api/v1/calls/export", exact=False).first.wait_for()
    page.get_by_text("Post-dial delay in milliseconds", exact=False).first.wait_for(state="attached")
    assert page.locator("[data-section-id]").count() > 3
    # Nothing left this server: Redoc's one outside request (its CDN logo) is stopped by the page's CSP.
    assert fetched == []
    assert set(outside) <= set(blocked) and all(url.startswith("https://cdn.redoc.ly/") for url in outside)
