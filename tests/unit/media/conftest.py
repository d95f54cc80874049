from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _forget_known_tenants() -> Iterator[None]:
    """Override the suite-wide autouse fixture: media tests must run without Django."""
    yield
