"""Thin views: parse the request, call a selector, shape the answer."""

from __future__ import annotations

from typing import Any

from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cdr.api.filters import filter_parameters
from cdr.api.pagination import CallCursorPagination
from cdr.api.renderers import EXPORT_FORMATS, STREAMS
from cdr.api.selectors import call_api_get, calls_api_list
from cdr.api.serializers import CallDetailSerializer, CallRecordSerializer
from cdr.selectors import call_records_iter


class _BadFormatIs400:
    # DRF answers an unknown ``?format=`` with 404; it is bad input (400 naming the parameter).

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        try:
            return super().perform_content_negotiation(request, force)  # type: ignore[misc]
        except Http404:
            raise ValidationError({"format": "unsupported format"}) from None


@extend_schema(parameters=filter_parameters(), summary="Call records, newest first (cursor-paginated)")
class CallListView(_BadFormatIs400, generics.ListAPIView):
    """Call records of the caller's tenants. Follow ``next`` to walk every row exactly once."""

    serializer_class = CallRecordSerializer
    pagination_class = CallCursorPagination

    def get_queryset(self) -> Any:
        return calls_api_list(user=self.request.user, params=self.request.query_params)


@extend_schema(summary="One call with its hangup, transfers and lifecycle events", responses=CallDetailSerializer)
class CallDetailView(_BadFormatIs400, APIView):
    """One call by its gateway Call-ID; 404 for unknown calls and for other tenants' calls."""

    def get(self, request: Request, call_id: str) -> Any:
        call, events = call_api_get(user=request.user, call_id=call_id)
        return Response(CallDetailSerializer(call, context={"events": events}).data)


class CallExportView(APIView):
    """Any range of records in constant memory (server-side cursor); filters as on the list."""

    # Errors are JSON; the records themselves bypass DRF rendering (a streamed body).
    renderer_classes = [JSONRenderer]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # ``format`` here names the export format, not a DRF renderer.
        return JSONRenderer(), JSONRenderer.media_type

    @extend_schema(
        summary="All matching call records, oldest first, streamed as CSV or NDJSON",
        parameters=[
            OpenApiParameter("format", OpenApiTypes.STR, OpenApiParameter.QUERY, required=True, enum=["csv", "ndjson"]),
            *filter_parameters(),
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV, header row first"),
            (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.STR, description="One JSON record a line"),
        },
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        fmt = request.query_params.get("format")
        if fmt not in EXPORT_FORMATS:
            raise ValidationError({"format": f"expected csv or ndjson, got {(fmt or '')[:100]!r}"})
        # Filters are parsed here, before the body starts, so a bad one is still a 400.
        qs = calls_api_list(user=request.user, params=request.query_params)
        response = StreamingHttpResponse(STREAMS[fmt](call_records_iter(qs)), content_type=EXPORT_FORMATS[fmt])
        response["Content-Disposition"] = f'attachment; filename="calls.{fmt}"'
        return response
