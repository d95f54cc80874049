"""Thin views: parse the request, call a selector, shape the answer."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponseRedirect, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotAcceptable, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from cdr.api.auth import ApiAccess
from cdr.api.calls_export import EXPORT_FORMATS, calls_export_chunks
from cdr.api.filters import KnownParams, filter_parameters
from cdr.api.pagination import MAX_PAGE_SIZE, calls_page, cursor_encode, page_params
from cdr.api.renderers import CallCSVRenderer, CallNDJSONRenderer, PageResponse
from cdr.api.schema import Gone, JsonErrors, error_responses
from cdr.api.selectors import (
    call_api_get,
    calls_api_list,
    recording_api_get,
    recording_summaries,
)
from cdr.api.serializers import CallDetailSerializer, CallExportRecordSerializer, CallRecordSerializer
from cdr.models import AccessPurpose
from cdr.services.recordings import RecordingUnavailable, recording_link

_PAGE = inline_serializer(
    "CallPage",
    {
        "next": serializers.URLField(allow_null=True, help_text="The next page (also in the Link header)."),
        "results": CallRecordSerializer(many=True, help_text="The page's call records."),
    },
)
_LIST_PARAMETERS = [
    OpenApiParameter("cursor", OpenApiTypes.STR, description="From the `next` link of the previous page."),
    OpenApiParameter("page_size", OpenApiTypes.INT, description=f"Rows per page, 1..{MAX_PAGE_SIZE} (default 100)."),
    OpenApiParameter(
        "order",
        OpenApiTypes.STR,
        enum=["desc", "asc", "updated"],
        description=(
            "Newest (default) or oldest first by start; or `updated`: the change feed, every record in the order"
            " it was last written. Its `next` is always given: a short page means caught up, so keep `next` and"
            " poll it later to get what changed since (records written in the last"
            " CDR_API_CHANGES_SETTLE_SECONDS are held back until they settle)."
        ),
    ),
    OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv", "ndjson"], description="Or use Accept."),
    *filter_parameters(),
]


class CallListView(ApiAccess, JsonErrors, KnownParams, APIView):
    """Call records of the caller's tenants. Follow ``next`` to walk every row exactly once."""

    renderer_classes = [JSONRenderer, CallCSVRenderer, CallNDJSONRenderer]
    query_parameters = _LIST_PARAMETERS

    @extend_schema(
        operation_id="v1_calls_list",
        summary="Call records, newest first (keyset-paginated); JSON, CSV or NDJSON",
        parameters=_LIST_PARAMETERS,
        responses={
            (200, "application/json"): _PAGE,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The page's rows, header first"),
            (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.STR, description="One record a line"),
            **error_responses(400, 401, 403, 406),
        },
    )
    def get(self, request: Request) -> Response:
        order, size, position = page_params(request.query_params)
        qs, tenant_id = calls_api_list(user=request.user, params=request.query_params)
        calls, after = calls_page(qs, order=order, size=size, after=position, tenant_id=tenant_id)
        context = {"summaries": recording_summaries(calls=calls)}
        next_url = None
        if after is not None:
            next_url = replace_query_param(request.build_absolute_uri(), "cursor", cursor_encode(after))
        page = {"next": next_url, "results": CallRecordSerializer(calls, many=True, context=context).data}
        response = PageResponse(page)
        if next_url is not None:
            response["Link"] = f'<{next_url}>; rel="next"'
        return response


class CallDetailView(ApiAccess, JsonErrors, KnownParams, APIView):
    """One call by its gateway Call-ID; 404 for unknown calls and for other tenants' calls."""

    @extend_schema(
        summary="One call with its hangup, transfers, lifecycle events and recordings",
        responses={200: CallDetailSerializer, **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request, call_id: str) -> Response:
        call, events, recordings = call_api_get(user=request.user, call_id=call_id)
        context = {"events": events, "recordings": recordings, "request": request}
        return Response(CallDetailSerializer(call, context=context).data)


# What the export answers to ``Accept`` when no ``?format=`` is given (the charset: a client's
# ``text/csv; charset=utf-8`` matches it, as a bare ``text/csv`` does).
_EXPORT_ACCEPTS = {"text/csv; charset=utf-8": "csv", "application/x-ndjson": "ndjson", "application/json": "json"}
_EXPORT_PARAMETERS = [
    OpenApiParameter(
        "format",
        OpenApiTypes.STR,
        OpenApiParameter.QUERY,
        enum=list(EXPORT_FORMATS),
        description=(
            "csv, ndjson (one JSON record a line) or json (one array). Without it, the `Accept` header decides"
            " (text/csv, application/x-ndjson, application/json; another type is a 406); give one of the two."
        ),
    ),
    *filter_parameters(),
]


def export_format(request: Request) -> str:
    """The export's format: ``?format=``, else the client's preferred type in ``Accept``."""
    fmt = request.query_params.get("format")
    if fmt is not None:
        if fmt not in EXPORT_FORMATS:
            raise ValidationError({"format": f"expected csv, ndjson or json, got {fmt[:100]!r}"})
        return fmt
    best = request._request.get_preferred_type(list(_EXPORT_ACCEPTS))
    if best is None:
        offered = ", ".join(t.split(";")[0] for t in _EXPORT_ACCEPTS)
        raise NotAcceptable(f"the export is served as {offered}")
    if request._request.accepted_type(best).specificity == 0:
        # No Accept, or only */* (curl's default): an export of millions of rows is not guessed.
        raise ValidationError({"format": "give ?format=csv|ndjson|json or an Accept header naming one"})
    return _EXPORT_ACCEPTS[best]


class CallExportView(ApiAccess, KnownParams, APIView):
    """Any range of records in constant memory; filters as on the list."""

    # Errors are JSON; the records themselves bypass DRF rendering (a streamed body).
    renderer_classes = [JSONRenderer]
    query_parameters = _EXPORT_PARAMETERS

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # ``format`` and ``Accept`` name the export format (export_format), not a DRF renderer.
        return JSONRenderer(), JSONRenderer.media_type

    @extend_schema(
        summary="All matching call records, oldest first, streamed as CSV, NDJSON or a JSON array",
        parameters=_EXPORT_PARAMETERS,
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV, header row first"),
            (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.STR, description="One JSON record a line"),
            (200, "application/json"): OpenApiResponse(
                CallExportRecordSerializer(many=True), description="One JSON array of records"
            ),
            **error_responses(400, 401, 403, 406),
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        fmt = export_format(request)
        # Filters are parsed here, before the body starts, so a bad one is still a 400.
        qs, _ = calls_api_list(user=request.user, params=request.query_params)
        response = StreamingHttpResponse(calls_export_chunks(qs, fmt), content_type=EXPORT_FORMATS[fmt])
        response["Content-Disposition"] = f'attachment; filename="calls.{fmt}"'
        return response


_MEDIA_PARAMETERS = [
    OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Recording id."),
    OpenApiParameter(
        "variant", OpenApiTypes.STR, enum=["wav", "original"], description="Stereo WAV (default) or original."
    ),
]


class RecordingMediaView(ApiAccess, JsonErrors, KnownParams, APIView):
    """Redirect to a short-lived link to the audio (S3 presigned, or the signed local file view)."""

    query_parameters = _MEDIA_PARAMETERS

    @extend_schema(
        summary="The recording's audio: a redirect to a short-lived link (Range supported there)",
        parameters=_MEDIA_PARAMETERS,
        responses={
            (302, "application/json"): OpenApiResponse(description="Location: the audio, valid for a few minutes"),
            **error_responses(400, 401, 403, 404, 410),
        },
    )
    def get(self, request: Request, pk: str) -> HttpResponseRedirect:
        variant = request.query_params.get("variant", "wav")
        if variant not in ("wav", "original"):
            raise ValidationError({"variant": f"expected wav or original, got {variant[:100]!r}"})
        if not pk.isascii() or not pk.isdigit():
            raise Http404("No such recording.")
        recording = recording_api_get(user=request.user, recording_id=int(pk))
        try:
            url = recording_link(user=request.user, recording=recording, purpose=AccessPurpose.API, variant=variant)
        except RecordingUnavailable as exc:
            raise Gone(str(exc)) from None
        response = HttpResponseRedirect(request.build_absolute_uri(url))
        response["Cache-Control"] = "private, no-store"
        return response
