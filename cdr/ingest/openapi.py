"""OpenAPI description of /ingest/v1/: the published event JSON Schema as a component, and responses."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schemas" / "lifecycle-event.schema.json"


@cache
def event_json_schema() -> dict[str, Any]:
    """The published JSON Schema file (draft 07), as it is."""
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


_NOT_OPENAPI = ("$schema", "$id", "definitions", "propertyNames")


def _to_openapi(node: Any, definitions: dict[str, Any]) -> Any:
    # OpenAPI 3.0 schemas are a JSON Schema dialect: no $schema/$id/definitions, refs inlined,
    # and "nullable" instead of a type list with "null"; no "propertyNames" (the labels' key rule is
    # in their description).
    if isinstance(node, list):
        return [_to_openapi(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _to_openapi(definitions[node["$ref"].rsplit("/", 1)[-1]], definitions)
    out = {k: _to_openapi(v, definitions) for k, v in node.items() if k not in _NOT_OPENAPI}
    kind = out.get("type")
    if isinstance(kind, list):
        others = [t for t in kind if t != "null"]
        out["type"] = others[0]
        if "null" in kind:
            out["nullable"] = True
    return out


def event_openapi_schema() -> dict[str, Any]:
    schema = event_json_schema()
    return _to_openapi(schema, schema.get("definitions", {}))


class LifecycleEventSerializer(serializers.Serializer):
    """Stands for the JSON Schema file in the OpenAPI document (never used to validate)."""


def branch_component_name(event_type: str) -> str:
    return "LifecycleEvent" + "".join(part.capitalize() for part in event_type.split("_"))


class LifecycleEventSchema(OpenApiSerializerExtension):
    """Each branch of the event's ``oneOf`` is a component of its own (``LifecycleEventBye``, ...), and
    ``type`` discriminates them. Inline, drf-spectacular's enum hook names every branch's ``type``
    enum ``LifecycleEventTypeEnum`` (one component, one property name) and keeps only the first
    (``ringing``): a client generated from it could send nothing else."""

    target_class = LifecycleEventSerializer

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = event_openapi_schema()
        refs: dict[str, str] = {}
        for branch in schema["oneOf"]:
            name = branch_component_name(branch["title"])
            component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=branch)
            auto_schema.registry.register_on_missing(component)
            refs[branch["title"]] = component.ref["$ref"]
        return {
            **{k: v for k, v in schema.items() if k != "oneOf"},
            "oneOf": [{"$ref": ref} for ref in refs.values()],
            "discriminator": {"propertyName": "type", "mapping": refs},
        }


class EventOutcomeSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the event in the posted array")
    event_id = serializers.CharField(allow_null=True, help_text="The event's event_id as posted; null when it had none")
    status = serializers.ChoiceField(
        choices=["accepted", "duplicate", "rejected"],
        help_text="accepted (stored), duplicate (already stored: same event_id or same content) or rejected",
    )
    code = serializers.IntegerField(required=False, help_text="For a rejected event: 400, 403 or 409")
    reason = serializers.CharField(required=False, help_text="For a rejected event: the field at fault and why")


class BatchResultSerializer(serializers.Serializer):
    batch_id = serializers.CharField(help_text="The server's id for this batch (in its logs and the admin)")
    accepted = serializers.IntegerField(help_text="Events stored by this post (count)")
    duplicate = serializers.IntegerField(help_text="Events already stored before (count): safe to drop from a retry")
    rejected = serializers.IntegerField(help_text="Events refused (count): do not retry them unchanged")
    results = EventOutcomeSerializer(many=True, help_text="One outcome per posted event, in the posted order")


class RecordingStoredSerializer(serializers.Serializer):
    """The answer to a recording upload. No URL or server path: ``recording_id`` is the recording in
    the REST API (``/api/v1/recordings/{id}/media``, the call's ``recordings``)."""

    recording_id = serializers.IntegerField(
        allow_null=True,
        help_text="The stored recording's id in the REST API; null while its upload to storage is still "
        "finishing (it is spooled and retried: post again later to learn the id) or when nothing was stored",
    )
    call_id = serializers.CharField(help_text="The Call-ID the recording belongs to (X-CDR-Call-Id)")
    object_key = serializers.CharField(
        help_text="The storage object key, relative to the recordings storage; empty when the tenant's "
        "recording policy is off"
    )
    bytes = serializers.IntegerField(help_text="Size of the stored object in bytes")
    sha256 = serializers.CharField(help_text="Hex SHA-256 of the body, as verified")
    detail = serializers.CharField(required=False, help_text="Why nothing was stored (the recording policy is off)")


class IngestErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(required=False, help_text="Authentication and availability errors")
    parameter = serializers.CharField(
        required=False, help_text="Bad input answers {parameter: reason}, e.g. {'body': 'not valid JSON ...'}"
    )


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    text = {
        400: "Malformed request: {parameter: reason} (body, header); nothing was stored",
        401: "Missing or bad signature, unknown key, or a timestamp outside the replay window",
        403: "Gateway revoked, or not allowed to report this tenant",
        409: "Already stored with different content",
        411: "A chunked body (Transfer-Encoding: chunked) this server cannot read (e.g. runserver): "
        "send a Content-Length. Behind gunicorn chunked bodies are read",
        413: "Body larger than the configured cap",
        415: "Wrong Content-Type",
        503: "Broker or storage unavailable: nothing was accepted, post again after Retry-After",
    }
    return {code: OpenApiResponse(IngestErrorSerializer, description=text[code]) for code in codes}
