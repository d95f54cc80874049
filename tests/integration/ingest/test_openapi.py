"""The ingestion operations and the event schema are in /api/schema/, with their error answers."""

from __future__ import annotations

import pytest

from cdr.ingest.openapi import event_openapi_schema
from cdr.lifecycle.wire import HOOK_TYPES

pytestmark = pytest.mark.django_db


def inline(node, components):
    """``node`` with every ``$ref`` (and drf-spectacular's ``allOf: [$ref]`` wrapper) replaced by its target."""
    if isinstance(node, list):
        return [inline(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return inline(components[node["$ref"].rsplit("/", 1)[-1]], components)
    allof = node.get("allOf")
    if isinstance(allof, list) and len(allof) == 1 and "$ref" in allof[0]:
        rest = {k: v for k, v in node.items() if k != "allOf"}
        return {**inline(allof[0], components), **inline(rest, components)}
    return {k: inline(v, components) for k, v in node.items()}


def test_the_operations_declare_their_answers_and_the_event_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    events = schema["paths"]["/ingest/v1/events"]["post"]
    recording = schema["paths"]["/ingest/v1/recordings/{call_id}"]["post"]
    assert set(events["responses"]) == {"200", "400", "401", "403", "411", "413", "415", "503"}
    assert {"201", "400", "401", "403", "411", "413", "503"} <= set(recording["responses"])
    body = events["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"type": "array", "items": {"$ref": "#/components/schemas/LifecycleEvent"}}
    components = schema["components"]["schemas"]
    served, published = components["LifecycleEvent"], event_openapi_schema()
    # Each branch is a component of its own; drf-spectacular hoists each branch's `type` enum into
    # one more. Resolved, every branch is the file's, `type` included: one per branch.
    branches = [inline(ref, components) for ref in served["oneOf"]]
    assert branches == published["oneOf"]
    assert [b["properties"]["type"]["enum"] for b in branches] == [[t] for t in HOOK_TYPES]
    mapping = served["discriminator"]["mapping"]
    assert served["discriminator"]["propertyName"] == "type" and list(mapping) == list(HOOK_TYPES)
    assert [inline({"$ref": mapping[t]}, components)["title"] for t in HOOK_TYPES] == list(HOOK_TYPES)
    assert events["security"] == [{"gatewaySignature": []}]
    assert "gatewaySignature" in schema["components"]["securitySchemes"]
    headers = {p["name"] for p in recording["parameters"] if p["in"] == "header"}
    assert {"X-CDR-Content-SHA256", "X-CDR-Tenant-Id", "X-CDR-Codec", "X-CDR-Sample-Rate"} <= headers
