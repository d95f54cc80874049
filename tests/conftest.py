import pytest


@pytest.fixture(autouse=True)
def _forget_known_tenants():
    """The tenant cache outlives a test's database rows; start every test without it."""
    from cdr.services.tenants import tenants_forget

    tenants_forget()
    yield
    tenants_forget()
