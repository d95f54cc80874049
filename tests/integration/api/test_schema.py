"""The OpenAPI schema generates without warnings; it and the docs page are served without a CDN."""

import io
import re

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

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
    # Redoc, its script from this server's static files, reading this server's schema.
    assert '<script src="/static/drf_spectacular_sidecar/redoc/bundles/redoc.standalone' in page
    assert 'data-spec-url="/api/schema/"' in page and '<script src="/static/cdr/api-docs' in page
    assert "script-src 'self';" in docs["Content-Security-Policy"]
    assert not re.search(r'(src|href)="(https?:)?//', page)


def test_the_plain_docs_page_lists_parameters_and_response_fields_without_script(client):
    page = client.get("/api/docs/plain/").content.decode()
    assert "/api/v1/calls/export" in page and "started_after" in page
    assert "<script" not in page and "cdn" not in page.lower()
    # The call list's answer is described field by field (each of results[]).
    listing = page.split("<code>GET /api/v1/calls/</code>", 1)[1].split("<h2", 1)[0]
    assert "Response fields (each of <code>results[]</code>)" in listing
    for field in ("call_id", "tenant_id", "status", "started_at", "billable_ms"):
        assert f"<code>{field}</code>" in listing


@override_settings(INSTALLED_APPS=[a for a in settings.INSTALLED_APPS if a != "drf_spectacular_sidecar"])
def test_without_the_sidecar_the_docs_page_is_the_plain_one(client):
    page = client.get("/api/docs/").content.decode()
    assert "<script" not in page and "Response fields" in page


def _response_components(schema):
    """Names of the components reachable from any operation's responses."""
    components = schema["components"]["schemas"]
    seen: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[-1]
                if name not in seen:
                    seen.add(name)
                    walk(components[name])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for item in schema["paths"].values():
        for op in item.values():
            walk(op.get("responses", {}))
    return seen


def test_every_response_field_is_described_and_durations_and_times_say_their_unit(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    names = _response_components(schema)
    assert {"CallRecord", "CallDetail", "Recording", "BatchResult", "RecordingStored"} <= names
    missing, unitless = [], []
    for name in sorted(names):
        for field, prop in schema["components"]["schemas"][name].get("properties", {}).items():
            text = prop.get("description", "")
            if not text:
                missing.append(f"{name}.{field}")
            elif field.endswith("_ms") and "millisecond" not in text.lower():
                unitless.append(f"{name}.{field}")
            elif prop.get("format") == "date-time" and "UTC" not in text:
                unitless.append(f"{name}.{field}")
    assert not missing, f"response fields without a description: {missing}"
    assert not unitless, f"durations or times without their unit: {unitless}"


NEW_FILTERS = ("ended_after", "ended_before", "min_duration_ms", "max_duration_ms", "sip_class", "remote_addr")


def _operation(schema: dict, path: str) -> dict:
    return schema["paths"][path]["get"]


@pytest.mark.parametrize("path", ["/api/v1/calls/", "/api/v1/calls/export"])
def test_the_list_and_export_describe_every_parameter_with_the_new_filters(client, path):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    parameters = {p["name"]: p for p in _operation(schema, path)["parameters"] if p["in"] == "query"}
    assert set(NEW_FILTERS) <= set(parameters)
    assert all(p.get("description", "").strip() for p in parameters.values()), [
        name for name, p in parameters.items() if not p.get("description", "").strip()
    ]
    assert parameters["sip_class"]["schema"]["enum"] == ["1xx", "2xx", "3xx", "4xx", "5xx", "6xx"]
    assert parameters["min_duration_ms"]["schema"]["type"] == "integer"
    # Times are strings (a plain date is one), described with the zone rule.
    for name in ("started_after", "ended_before"):
        assert parameters[name]["schema"] == {"type": "string"}
        assert "2026-12-03" in parameters[name]["description"] and "time zone" in parameters[name]["description"]


def test_the_export_declares_accept_and_json(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    export = _operation(schema, "/api/v1/calls/export")
    assert set(export["responses"]["200"]["content"]) == {"text/csv", "application/x-ndjson", "application/json"}
    assert "406" in export["responses"]
    fmt = next(p for p in export["parameters"] if p["name"] == "format")
    assert set(fmt["schema"]["enum"]) == {"csv", "ndjson", "json"} and not fmt.get("required")
