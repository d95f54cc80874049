from pathlib import Path

import pytest

from tests.support.browser import ARGS, ARTIFACTS, CHROMIUM
from tests.support.tenants import TENANT_A, staff_user, two_tenants


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Expose the call phase's outcome to fixtures (a screenshot when the test failed)."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: apt-get install -y chromium (or set CDR_CHROMIUM)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    if getattr(request.node, "rep_call", None) is None or request.node.rep_call.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-failure.png"), full_page=True)
    context.close()


@pytest.fixture
def tenants(local_recordings):
    """Created before the browser starts: Playwright's sync API runs the test in a greenlet, where
    Django would open (and never close) a second database connection."""
    calls = two_tenants()
    staff_user("agent-alpha", TENANT_A)
    return calls
