"""The Reports page in a real browser: Chart.js (vendored) draws the charts from the embedded data.

Run on its own: ``pytest -m browser``.
"""

from __future__ import annotations

import pytest

from tests.support.browser import shot
from tests.support.tenants import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reports_page_draws_its_charts_offline(tenants, live_server, page):
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(live_server.url) else None)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/cdr/report/")
    page.fill("#id_username", "agent-alpha")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/cdr/report/?from=2026-03-28&to=2026-03-30&bucket=day")
    page.wait_for_selector("html[data-cdr-charts=drawn]")
    for chart in ("traffic", "ratios", "times"):
        drawn = page.evaluate(
            """id => { const c = document.getElementById(id); const ch = c.cdrChart;
                return {w: c.width, h: c.height, points: ch.data.datasets[0].data.length,
                        ink: c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some(v => v !== 0)}; }""",
            f"cdr-chart-{chart}",
        )
        assert drawn["w"] > 100 and drawn["h"] > 100 and drawn["points"] == 3 and drawn["ink"], (chart, drawn)
    shot(page, "reports")
    assert outside == []
