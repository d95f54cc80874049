from datetime import UTC, datetime

import pytest


@pytest.fixture
def base_time():
    # A DST change inside the range (Europe: 2026-03-29), calls on both sides of it.
    return datetime(2026, 3, 28, 20, 0, tzinfo=UTC)
