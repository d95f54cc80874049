"""GET /api/v1/reports/summary: the report figures of one of the caller's tenants, JSON or CSV."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cdr.api.auth import ApiAccess
from cdr.api.filters import KnownParams
from cdr.api.schema import JsonErrors, error_responses
from cdr.reports import metrics
from cdr.reports.buckets import BUCKETS, MAX_BUCKETS, BucketError
from cdr.reports.tables import TABLES, summary_csv, summary_filename
from cdr.selectors.reports import DEFAULT_DAYS, TenantNotVisible, report_query_parse
from cdr.services.reports import report_summary_fresh


class CSVTextRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return data.encode() if isinstance(data, str) else b""


_Q = OpenApiParameter.QUERY
_PARAMETERS = [
    OpenApiParameter("tenant", OpenApiTypes.STR, _Q, description="Tenant id; optional if you have exactly one."),
    OpenApiParameter("from", OpenApiTypes.DATE, _Q, description=f"First local day (default: {DEFAULT_DAYS} days ago)."),
    OpenApiParameter("to", OpenApiTypes.DATE, _Q, description="Last local day, included (default: today)."),
    OpenApiParameter("bucket", OpenApiTypes.STR, _Q, enum=list(BUCKETS), description="Default: day."),
    OpenApiParameter("tz", OpenApiTypes.STR, _Q, description="IANA time zone of the buckets (default: the tenant's)."),
    OpenApiParameter("direction", OpenApiTypes.STR, _Q, enum=["inbound", "outbound"], description="Default: both."),
    OpenApiParameter("table", OpenApiTypes.STR, _Q, enum=list(TABLES), description="CSV only: which table."),
    OpenApiParameter("format", OpenApiTypes.STR, _Q, enum=["json", "csv"], description="Or use the Accept header."),
]


@extend_schema(
    summary="Call analytics of one tenant per local hour, day, ISO week or month",
    description=(metrics.__doc__ or "")
    + f"\nAt most {MAX_BUCKETS} buckets per request. A tenant you may not see answers 404, as an unknown one does.",
    parameters=_PARAMETERS,
    responses={
        (200, "application/json"): OpenApiResponse(
            OpenApiTypes.OBJECT,
            description="buckets, total, sip_codes, initiators, and the range's figures by direction, scenario and "
            'codec (directions, scenarios, codecs; "" for a call without one)',
        ),
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="One table (``table``), header row first"),
        **error_responses(400, 401, 403, 404, 406),
    },
)
class ReportSummaryView(ApiAccess, JsonErrors, KnownParams, APIView):
    renderer_classes = [JSONRenderer, CSVTextRenderer]
    query_parameters = _PARAMETERS

    def get(self, request: Request) -> Response:
        try:
            query = report_query_parse(user=request.user, params=request.query_params)
            summary = report_summary_fresh(query)
        except TenantNotVisible:
            raise Http404("No such tenant.") from None
        except BucketError as exc:
            raise ValidationError({exc.param: str(exc)}) from None
        if request.accepted_renderer.format != "csv":
            return Response(summary)
        table = request.query_params.get("table") or "buckets"
        if table not in TABLES:
            raise ValidationError({"table": f"expected one of {', '.join(TABLES)}"})
        disposition = f'attachment; filename="{summary_filename(summary, table)}"'
        return Response(summary_csv(summary, table), headers={"Content-Disposition": disposition})
