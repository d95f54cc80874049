"""The OpenAPI schema generates without warnings; it and the docs page are served without a CDN."""

import io

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_schema_generates_without_warnings():
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    schema = out.getvalue()
    for path in (
        "/api/v1/calls/:",
        "/api/v1/calls/{call_id}/:",
        "/api/v1/calls/export:",
        "/api/v1/recordings/{id}/media:",
    ):
        assert path in schema


def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    # The schema and docs describe the API and hold no data: public, like most API docs.
    assert schema.status_code == 200
    assert "bearerAuth" in schema.json()["components"]["securitySchemes"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    page = docs.content.decode()
    assert "/api/v1/calls/export" in page and "started_after" in page
    assert "<script" not in page and "cdn" not in page.lower()
