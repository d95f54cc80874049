"""The admin's "Reports" page: charts and tables of one tenant's traffic, each table as CSV too, and
the overview of every tenant the user may see (where superusers land)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.template.response import TemplateResponse

from cdr.admin.report_tables import axis_labels, overview_table, report_tables
from cdr.admin.scoping import TenantScopedAdmin
from cdr.models import Report
from cdr.reports import metrics
from cdr.reports.buckets import BUCKETS, MAX_BUCKETS, BucketError
from cdr.reports.tables import TABLES, overview_csv, overview_filename, summary_csv, summary_filename
from cdr.selectors.reports import (
    OVERVIEW_LIMIT,
    TenantNotVisible,
    overview_query_parse,
    report_query_parse,
    report_tenants,
    reports_overview,
)
from cdr.services.reports import report_summary_fresh

# A picker, not a list: staff belong to a handful of tenants; superusers pick by id past this.
TENANT_CHOICES = 500
ALL = "all"


def _csv(body: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _groups(tables: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The periods' table, then the hangup tables side by side, then the breakdowns side by side."""
    return [tables[:1], tables[1:3], tables[3:]]


@admin.register(Report)
class ReportAdmin(TenantScopedAdmin):
    tenant_field = "tenant_id"

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        tenants = report_tenants(user=request.user, limit=TENANT_CHOICES)
        params = request.GET.copy()
        # Superusers open on every tenant at a glance, others on their first real tenant (never on
        # tenant 0, "not resolved", unless it is all they have).
        if not params.get("tenant"):
            if request.user.is_superuser:
                params["tenant"] = ALL
            elif tenants:
                params["tenant"] = str(tenants[0].id)
        context = {
            **self.admin_site.each_context(request),
            **(extra_context or {}),
            "opts": self.model._meta,
            "tenants": tenants,
            "overview_allowed": request.user.is_superuser or len(tenants) > 1,
        }
        if params.get("tenant") == ALL:
            return self._overview(request, params, context)
        return self._report(request, params, context)

    def _overview(self, request: HttpRequest, params: QueryDict, context: dict[str, Any]) -> HttpResponse:
        overview, error = None, None
        try:
            overview = reports_overview(user=request.user, q=overview_query_parse(params))
        except BucketError as exc:
            error = f"{exc.param}: {exc}"
        if overview is not None and params.get("format") == "csv":
            return _csv(overview_csv(overview), overview_filename(overview))
        form = {"tenant": ALL, "from": params.get("from", ""), "to": params.get("to", "")}
        if overview is not None:
            form |= {"from": overview["from"], "to": overview["to"]}
        context |= {
            "title": "Reports: all tenants",
            "form": form,
            "overview": overview,
            "table": overview_table(overview, params) if overview is not None else None,
            "error": error,
            "limit": OVERVIEW_LIMIT,
        }
        return TemplateResponse(request, "admin/cdr/report/overview.html", context, status=400 if error else 200)

    def _report(self, request: HttpRequest, params: QueryDict, context: dict[str, Any]) -> HttpResponse:
        summary, error = None, None
        try:
            summary = report_summary_fresh(report_query_parse(user=request.user, params=params))
        except TenantNotVisible:
            raise Http404("No such tenant.") from None
        except BucketError as exc:
            error = f"{exc.param}: {exc}"
        if summary is not None and params.get("format") == "csv":
            table = params.get("table") if params.get("table") in TABLES else "buckets"
            return _csv(summary_csv(summary, table), summary_filename(summary, table))
        form = {k: params.get(k, "") for k in ("tenant", "from", "to", "bucket", "tz", "direction")}
        if summary is not None:
            form |= {k: summary[k] for k in ("from", "to", "bucket", "tz")}
        context |= {
            "title": "Reports",
            "form": form,
            "buckets": BUCKETS,
            "summary": summary,
            "axis_labels": axis_labels(summary) if summary is not None else [],
            "table_groups": _groups(report_tables(summary, params)) if summary is not None else [],
            "error": error,
            "definitions": metrics.__doc__,
            "max_buckets": MAX_BUCKETS,
            "ner_codes": sorted(metrics.NER_USER_CODES),
        }
        return TemplateResponse(request, "admin/cdr/report/reports.html", context, status=400 if error else 200)
