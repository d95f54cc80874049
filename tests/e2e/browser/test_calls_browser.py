"""The call list on a 1366 x 768 laptop screen: the essential columns fit without scrolling sideways,
and the play button opens a player that loads the recording. The call page of a transferred,
recorded call. With CDR_SCREENSHOTS=1 both pages are saved in docs/screenshots/ for the README.

Run on its own: ``pytest -m browser``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from cdr.services import events_ingest
from tests.support.browser import docs_shot, shot
from tests.support.factories import T0, call, failed
from tests.support.tenants import PASSWORD, TENANT_A, transferred_twice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LAPTOP = {"width": 1366, "height": 768}


LONG_CALL_ID = "3c2a6f1e-8b1d-4d7e-9a55-1f0b2c3d4e5f@sbc-01.carrier.example.net"


@pytest.fixture
def queue_call(tenants):
    """Made before the browser starts (see the tenants fixture); with a Call-ID as long as real
    ones (a UUID at a host name), which the list must shorten to fit."""
    meta = call(LONG_CALL_ID, tenant_id=TENANT_A, started_at=(T0 + timedelta(hours=3)).isoformat())
    events_ingest(events=[failed(3 * 3600 + 6.5, 3 * 3600 + 6.5, meta, sip_code=480, reason="Temporarily Unavailable")])
    return transferred_twice(TENANT_A, "alpha")


@pytest.fixture
def laptop(browser, request):
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    yield page
    if getattr(request.node, "rep_call", None) is None or request.node.rep_call.failed:
        shot(page, f"{request.node.name}-failure")
    page.goto("about:blank")  # no media request left open when the database is torn down
    context.close()


def log_in(page, url: str, next_path: str) -> None:
    page.goto(f"{url}/admin/login/?next={next_path}")
    page.fill("#id_username", "agent-alpha")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


def test_call_list_fits_1366_px_and_its_play_button_opens_a_player(tenants, queue_call, live_server, laptop):
    page = laptop
    log_in(page, live_server.url, "/admin/cdr/call/")
    page.wait_for_selector("#result_list")
    fit = page.evaluate(
        """() => { const t = document.getElementById('result_list'); const box = t.closest('.results');
            const heads = [...t.querySelectorAll('thead th')].filter(th => th.offsetParent !== null);
            const right = Math.max(...heads.map(th => th.getBoundingClientRect().right));
            const widths = heads.map(th => [th.className, Math.round(th.getBoundingClientRect().width)]);
            return {widths, table: t.scrollWidth, box: box.clientWidth, page: document.documentElement.scrollWidth,
                    view: window.innerWidth, right, boxRight: box.getBoundingClientRect().right,
                    columns: heads.map(th => th.className.replace(/.*column-(\\w+).*/, '$1'))}; }"""
    )
    shot(page, "call-list-1366")
    assert fit["table"] <= fit["box"] and fit["page"] <= fit["view"], repr(fit)
    assert fit["right"] <= fit["boxRight"] + 1, fit  # every visible header is inside the pane
    assert LONG_CALL_ID[:17] in page.inner_text("#result_list") and LONG_CALL_ID not in page.inner_text("#result_list")
    essential = ["started", "tenant_name", "call_id_short", "direction", "status", "duration", "sip", "play"]
    assert [c for c in fit["columns"] if c in essential] == essential, fit
    print(f"\n1366 px: table {fit['table']} px in a {fit['box']} px pane")
    docs_shot(page, "call-list-1366")

    # No player until asked: the row has a button; the page's one <audio> has no source yet.
    assert page.locator("#result_list audio").count() == 0
    assert page.evaluate("() => document.querySelector('#cdr-player audio').getAttribute('src')") is None
    row = page.locator("#result_list tr", has=page.locator(f"text={queue_call[:17]}"))
    row.locator("button.cdr-play").click()
    page.wait_for_selector("#cdr-player[open]")
    page.wait_for_function(
        "() => { const a = document.querySelector('#cdr-player audio'); return a.readyState >= 2 && a.duration > 0 }",
        timeout=15_000,
    )
    state = page.evaluate(
        "() => { const a = document.querySelector('#cdr-player audio');"
        " return {d: a.duration, e: a.error && a.error.code} }"
    )
    assert state["e"] is None and abs(state["d"] - 3.0) < 0.05, state
    assert page.inner_text("#cdr-player .cdr-player-call") == queue_call
    shot(page, "player-dialog")
    page.keyboard.press("Escape")
    page.wait_for_selector("#cdr-player:not([open])", state="attached")
    assert page.evaluate("() => document.querySelector('#cdr-player audio').getAttribute('src')") is None


def test_call_page_of_a_transferred_recorded_call(tenants, queue_call, live_server, laptop):
    page = laptop
    log_in(page, live_server.url, "/admin/cdr/call/")
    page.goto(f"{live_server.url}/admin/cdr/call/?q={queue_call}")
    page.click(f"#result_list a:has-text('{queue_call[:17]}')")
    page.wait_for_selector("#cdr-legs")
    outcomes = page.locator("#cdr-legs td.cdr-transfer-outcome").all_inner_texts()
    assert outcomes == ["failed: 486 Busy Here", "bridged"]
    assert "1.8 s" in page.inner_text(".field-pdd_display")
    page.locator("#cdr-recordings img.cdr-waveform").scroll_into_view_if_needed()  # loading="lazy"
    page.wait_for_function(
        "() => { const i = document.querySelector('#cdr-recordings img.cdr-waveform');"
        " return i && i.complete && i.naturalWidth > 0 }",
        timeout=10_000,
    )
    page.evaluate("window.scrollTo(0, 0)")  # the sticky app menu is drawn where the page is scrolled
    docs_shot(page, "call-page", full_page=True)
