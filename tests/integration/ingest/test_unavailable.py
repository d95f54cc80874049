"""The database unreachable (for real: the connection points at a port nobody listens on): both
endpoints answer 503 with Retry-After, never a 500, and keep nothing."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.db import connection

from cdr.models import GatewayEvent
from tests.support.factories import call, event
from tests.support.http import with_ids
from tests.support.processes import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def database_unreachable():
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = str(free_port())
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port


@pytest.fixture
def database_down(gw):
    with database_unreachable():
        yield


def _assert_unavailable(response):
    assert response.status_code == 503, response.content[:300]
    assert response.headers["Retry-After"] == "5"
    assert "post again" in response.json()["detail"]


def test_events_posted_while_the_database_is_down_are_503(gw, database_down):
    _assert_unavailable(gw.events(with_ids([event("ringing", 0, call("down@gw"))])))


def test_a_recording_posted_while_the_database_is_down_is_503(gw, database_down):
    headers = {"X-CDR-Tenant-Id": "7", "X-CDR-Format": "sn3", "X-CDR-Codec": "PCMU", "X-CDR-Sample-Rate": "8000"}
    response = gw.post("/ingest/v1/recordings/down@gw", b"SN3", content_type="application/octet-stream", **headers)
    _assert_unavailable(response)


def test_once_the_database_is_back_the_same_post_is_accepted(gw):
    batch = with_ids([event("ringing", 0, call("back@gw"))])
    with database_unreachable():
        _assert_unavailable(gw.events(batch))
    assert gw.events(batch).json()["accepted"] == 1 and GatewayEvent.objects.count() == 1
