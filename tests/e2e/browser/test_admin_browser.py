"""A support agent in a real browser: logs in, filters, opens a call, reads its timeline and
plays its recording. Playwright drives Debian's Chromium against pytest-django's live server.

Run on its own: ``pytest -m browser``. Screenshots go to test-artifacts/ (gitignored).
Needs ``apt-get install -y chromium`` and the ``playwright`` package (no browser download).
"""

from __future__ import annotations

import pytest

from tests.support.browser import shot
from tests.support.tenants import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_support_agent_filters_opens_a_call_and_plays_it(tenants, live_server, page):
    a, b = tenants
    ranges: list[tuple[int, str, str]] = []

    def on_response(response):
        if "/recordings/file/" in response.url:
            sent = response.request.all_headers()  # .headers omits Range
            ranges.append((response.status, sent.get("range", ""), response.headers.get("content-range", "")))

    page.on("response", on_response)

    page.goto(f"{live_server.url}/admin/login/?next=/admin/cdr/call/")
    page.fill("#id_username", "agent-alpha")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#result_list")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 5
    text = page.inner_text("#result_list")
    assert a.answered in text and b.answered not in text and "Zulu" not in page.content()
    assert "CET" in text or "CEST" in text  # start times in the tenant's zone (Europe/Paris)
    shot(page, "1-call-list")

    # Filter: status "Failed" from the sidebar, then the SIP class 4xx.
    page.locator("#changelist-filter details[data-filter-title='status'] a", has_text="Failed").click()
    page.wait_for_url("**status__exact=failed**")
    page.locator("#changelist-filter details[data-filter-title='SIP response class'] a", has_text="4xx").click()
    page.wait_for_url("**sip_class=4**")
    assert page.locator("#result_list tbody tr").count() == 1
    assert a.failed in page.inner_text("#result_list")
    shot(page, "2-filtered")

    # Search by Call-ID prefix, open the call.
    page.goto(f"{live_server.url}/admin/cdr/call/")
    page.fill("#searchbar", "alpha-answ")
    page.press("#searchbar", "Enter")
    page.wait_for_url("**q=alpha-answ**")
    page.click(f"#result_list a:has-text('{a.answered}')")
    page.wait_for_selector("#cdr-timeline")
    types = page.locator("#cdr-timeline tr.cdr-event").evaluate_all("rows => rows.map(r => r.dataset.type)")
    assert types == ["ringing", "established", "bye", "bye"]
    assert page.locator("#cdr-timeline tr.cdr-event-rejected").count() == 1
    assert "hangup.initiator" in page.inner_text("#cdr-timeline")
    shot(page, "3-call-detail")

    # The waveform next to the player: an image the browser loaded and decoded, not a broken icon.
    page.locator("#cdr-recordings img.cdr-waveform").scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const i = document.querySelector('#cdr-recordings img.cdr-waveform');"
        " return i.complete && i.naturalWidth === 600 && i.naturalHeight === 134 }",
        timeout=10_000,
    )

    # Play the recording: the audio element fetches it with Range requests and advances.
    audio = page.locator("#cdr-recordings audio")
    audio.scroll_into_view_if_needed()
    audio.evaluate("a => a.play()")
    page.wait_for_function(
        "() => { const a = document.querySelector('#cdr-recordings audio'); return a.currentTime > 0.3 }",
        timeout=15_000,
    )
    state = audio.evaluate("a => ({ready: a.readyState, duration: a.duration, error: a.error && a.error.code})")
    assert state["error"] is None and state["ready"] >= 2 and abs(state["duration"] - 2.0) < 0.05, state
    assert any(status == 206 and rng.startswith("bytes=") and crange for status, rng, crange in ranges), ranges
    # Seek: a new Range request, answered 206 again.
    before = len(ranges)
    audio.evaluate("a => { a.currentTime = 1.5 }")
    page.wait_for_function("() => document.querySelector('#cdr-recordings audio').currentTime >= 1.5", timeout=10_000)
    shot(page, "4-playing")
    page.reload()
    assert "agent-alpha" in page.inner_text("#cdr-recordings .cdr-accesses")  # who listened, logged
    assert all(status in (200, 206) for status, _, _ in ranges[before:])
    # Leave no media request open on the live server when the database is torn down.
    page.goto("about:blank")
