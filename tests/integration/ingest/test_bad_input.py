"""Bad requests are 4xx with a reason naming the parameter; nothing is written."""

from __future__ import annotations

import json

import pytest

from cdr.models import CallEvent, GatewayEvent
from tests.support.factories import call, event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _nothing_written():
    yield
    assert CallEvent.objects.count() == 0 and GatewayEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[{", "body: not valid JSON"),
        (b"\xff\xfe\x00", "body: not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "body: JSON nested deeper than 64 levels"),
        (b"[" * 65 + b"]" * 65, "body: JSON nested deeper than 64 levels"),
        # An event deep enough to pass the parser and break a recursive step after it (issue 16).
        (b'[{"type": "x", "a": ' + b"[" * 900 + b"]" * 900 + b"}]", "body: JSON nested deeper than 64 levels"),
        (b'[{"type": "ringing", "call": ' + b'{"a":' * 900 + b"1" + b"}" * 901 + b"]", "body: JSON nested deeper"),
        (b'{"type": "ringing"}', "body: expected a JSON array of events, got dict"),
        (b"[]", "body: expected 1..1000 events, got 0"),
        (json.dumps([{}] * 1001).encode(), "body: expected 1..1000 events, got 1001"),
        (b"[" + b"1" * 5000 + b"]", "body: not valid JSON"),
    ],
)
def test_malformed_bodies_are_400_naming_the_body(gw, body, reason):
    response = gw.events(body)
    assert response.status_code == 400
    assert response.json()["body"].startswith(reason)


def test_a_body_at_the_depth_bound_is_read(gw):
    response = gw.events(b"[" * 64 + b"]" * 64)
    assert response.status_code == 200
    assert response.json()["results"][0]["reason"] == "event: expected an object, got list"


def test_an_oversized_body_is_413_before_it_is_read(gw, settings):
    settings.CDR_INGEST = {**settings.CDR_INGEST, "MAX_BODY_BYTES": 1000}
    response = gw.events([event("ringing", 0, call("x" * 2000))])
    assert response.status_code == 413
    assert response.json()["detail"].startswith("body: ")


def test_a_wrong_content_type_is_415(gw):
    response = gw.events(b"[]", content_type="text/plain")
    assert response.status_code == 415
    assert "text/plain" in response.json()["detail"]


def test_other_methods_are_405(gw):
    from cdr.ingest.signing import signed_headers

    headers = signed_headers(gw.key_id, gw.secret, "GET", "/ingest/v1/events", b"")
    assert gw.client.get("/ingest/v1/events", headers=headers).status_code == 405
