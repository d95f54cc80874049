"""The Reports pages in a real browser: Chart.js (vendored) draws the charts from the embedded data,
and the tables fit a 1366 px window. With ``CDR_SCREENSHOTS=1`` the test also writes the README's
screenshots of the report and of the all-tenants overview to docs/screenshots/.

Run on its own: ``pytest -m browser``.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from cdr.management.seed import calls_seed
from cdr.models import Tenant
from cdr.services.peaks import peaks_rebuild
from cdr.services.rollups_rebuild import rollups_rebuild
from tests.support.browser import shot
from tests.support.tenants import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DOCS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
WIDE = {"width": 1366, "height": 900}
NAMES = ["Northwind Voice", "Contoso Telecom", "Fabrikam Support", "Tailspin Sales", "Wingtip Care"]


def _docs_shot(page, name: str, **kwargs) -> None:
    if os.environ.get("CDR_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS / f"{name}.png"), **kwargs)


def _login(page, base: str, username: str) -> None:
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


def _fits(page, selector: str) -> dict:
    return page.evaluate(
        """sel => { const t = document.querySelector(sel); const box = t.parentElement;
            return {table: t.scrollWidth, box: box.clientWidth, boxScroll: box.scrollWidth,
                    doc: document.documentElement.scrollWidth, window: window.innerWidth}; }""",
        selector,
    )


def test_reports_page_draws_its_charts_offline(tenants, live_server, page):
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(live_server.url) else None)
    _login(page, live_server.url, "agent-alpha")
    page.goto(f"{live_server.url}/admin/cdr/report/?from=2026-03-28&to=2026-03-30&bucket=day")
    page.wait_for_selector("html[data-cdr-charts=drawn]")
    for chart in ("traffic", "ratios", "times"):
        drawn = page.evaluate(
            """id => { const c = document.getElementById(id); const ch = c.cdrChart;
                return {w: c.width, h: c.height, points: ch.data.datasets[0].data.length, labels: ch.data.labels,
                        ink: c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some(v => v !== 0)}; }""",
            f"cdr-chart-{chart}",
        )
        assert drawn["w"] > 100 and drawn["h"] > 100 and drawn["points"] == 3 and drawn["ink"], (chart, drawn)
        assert drawn["labels"] == ["Sat 28", "Sun 29", "Mon 30"]
    shot(page, "reports")
    assert outside == []


@pytest.fixture
def seeded(db):
    """Thirty days of seeded traffic for five tenants (COPY, then the rollups and peaks rebuilt), and a superuser.
    Made before the browser starts (see ``tenants`` in conftest)."""
    calls_seed(calls=9000, tenants=len(NAMES), days=30, seed=17, now=timezone.now() - timedelta(hours=1))
    for tenant_id, name in zip(sorted(Tenant.objects.exclude(id=0).values_list("id", flat=True)), NAMES, strict=False):
        Tenant.objects.filter(id=tenant_id).update(name=name)
    rollups_rebuild()
    peaks_rebuild()
    get_user_model().objects.create_superuser("root", password=PASSWORD)


def test_the_overview_and_a_report_fit_1366_px(seeded, live_server, browser):
    context = browser.new_context(viewport=WIDE)
    page = context.new_page()
    try:
        _login(page, live_server.url, "root")
        page.goto(f"{live_server.url}/admin/cdr/report/")  # a superuser lands on the overview
        page.wait_for_selector("[data-table=tenants] tbody tr")
        assert page.locator("[data-table=tenants] tbody tr").count() == len(NAMES)
        fit = _fits(page, "[data-table=tenants] table")
        assert fit["table"] <= fit["box"] and fit["boxScroll"] <= fit["box"] and fit["doc"] <= fit["window"], fit
        _docs_shot(page, "reports-all-tenants", full_page=True)
        page.click("[data-table=tenants] tbody tr:first-child a")  # the busiest tenant's report
        page.wait_for_selector("html[data-cdr-charts=drawn]")
        for table in ("buckets", "sip_codes", "initiators", "directions", "scenarios", "codecs"):
            fit = _fits(page, f"[data-table={table}] table")
            assert fit["table"] <= fit["box"] and fit["boxScroll"] <= fit["box"], (table, fit)
        assert fit["doc"] <= fit["window"], fit
        assert page.locator("[data-table=scenarios] tbody tr").count() >= 3
        _docs_shot(page, "reports", full_page=True)
    finally:
        context.close()
