"""OpenAPI pieces shared by the views: every operation declares the errors it can answer."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers, status
from rest_framework.exceptions import APIException


class Gone(APIException):
    status_code = status.HTTP_410_GONE
    default_detail = "The resource is gone."
    default_code = "gone"


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


# A 400 names each bad parameter: {"started_after": "expected an RFC 3339 timestamp, ..."}.
_BAD_INPUT = {
    "type": "object",
    "additionalProperties": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
    "minProperties": 1,
}

_DESCRIPTIONS = {
    400: "Bad input: each key names a parameter, its value says why",
    401: "No token, or an unknown or revoked one",
    403: "The token's user may not do this",
    404: "Unknown, or belongs to a tenant the token's user may not see",
    406: "No representation for the Accept header (JSON, CSV, NDJSON are served)",
    410: "Deleted (retention) or never produced",
}


def error_responses(*codes: int) -> dict[Any, OpenApiResponse]:
    return {
        (code, "application/json"): OpenApiResponse(
            _BAD_INPUT if code == 400 else ErrorSerializer, description=_DESCRIPTIONS[code]
        )
        for code in codes
    }
