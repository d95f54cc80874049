import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Expose the call phase's outcome to fixtures (a screenshot when the test failed)."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report
