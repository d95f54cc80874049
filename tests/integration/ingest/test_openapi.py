"""The ingestion operations and the event schema are in /api/schema/, with their error answers."""

from __future__ import annotations

import pytest

from cdr.ingest.openapi import event_openapi_schema

pytestmark = pytest.mark.django_db


def test_the_operations_declare_their_answers_and_the_event_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    events = schema["paths"]["/ingest/v1/events"]["post"]
    recording = schema["paths"]["/ingest/v1/recordings/{call_id}"]["post"]
    assert set(events["responses"]) == {"200", "400", "401", "403", "413", "415", "503"}
    assert {"201", "400", "401", "403", "413", "503"} <= set(recording["responses"])
    body = events["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"type": "array", "items": {"$ref": "#/components/schemas/LifecycleEvent"}}
    served, published = schema["components"]["schemas"]["LifecycleEvent"], event_openapi_schema()
    # drf-spectacular hoists enums into components of their own; everything else is the file's.
    for mine, theirs in zip(served["oneOf"], published["oneOf"], strict=True):
        assert (mine["title"], mine["required"], mine["anyOf"]) == (
            theirs["title"],
            theirs["required"],
            theirs["anyOf"],
        )
        assert {k: v for k, v in mine["properties"].items() if k != "type"} == {
            k: v for k, v in theirs["properties"].items() if k != "type"
        }
    assert events["security"] == [{"gatewaySignature": []}]
    assert "gatewaySignature" in schema["components"]["securitySchemes"]
    headers = {p["name"] for p in recording["parameters"] if p["in"] == "header"}
    assert {"X-CDR-Content-SHA256", "X-CDR-Tenant-Id", "X-CDR-Codec", "X-CDR-Sample-Rate"} <= headers
