"""OpenAPI pieces shared by the views: every operation declares the errors it can answer."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response


class Gone(APIException):
    status_code = status.HTTP_410_GONE
    default_detail = "The resource is gone."
    default_code = "gone"


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, for a person to read.")


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


class JsonErrors:
    """Errors are JSON whatever the format asked for; an unknown ``?format=`` is a 400 naming it."""

    # No OPTIONS self-description (it would be rendered as CSV too): the schema describes the API.
    metadata_class = None

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        try:
            return super().perform_content_negotiation(request, force)  # type: ignore[misc]
        except Http404:  # DRF's answer to an unknown ?format=
            formats = ", ".join(r.format for r in self.renderer_classes)  # type: ignore[attr-defined]
            raise ValidationError({"format": f"unsupported format: {formats}"}) from None

    def handle_exception(self, exc: Exception) -> Response:
        response: Response = super().handle_exception(exc)  # type: ignore[misc]
        self.request.accepted_renderer = JSONRenderer()  # type: ignore[attr-defined]
        self.request.accepted_media_type = JSONRenderer.media_type  # type: ignore[attr-defined]
        return response
