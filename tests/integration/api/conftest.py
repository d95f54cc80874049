import pytest

from cdr.services.api_tokens import api_token_create
from tests.support.http import bearer_client
from tests.support.tenants import TENANT_A, TENANT_B, staff_user, tenant_calls


@pytest.fixture
def calls(db):
    """Tenant A (7) and tenant B (beyond 2**63): answered, failed, transferred pair, live call."""
    return tenant_calls(TENANT_A, "alpha", remote="203.0.113.5"), tenant_calls(TENANT_B, "zulu", remote="198.51.100.7")


@pytest.fixture
def alice(calls):
    return staff_user("alice", TENANT_A)


@pytest.fixture
def api(alice):
    """A client with tenant A's token."""
    return bearer_client(api_token_create(user=alice, name="billing").key)
