"""The admin's "Reports" page: charts and tables of one tenant's traffic, each table as CSV too."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.template.response import TemplateResponse

from cdr.admin.scoping import TenantScopedAdmin
from cdr.models import Report
from cdr.reports import metrics
from cdr.reports.buckets import BUCKETS, MAX_BUCKETS, BucketError
from cdr.reports.tables import TABLES, summary_csv, summary_filename, summary_rows
from cdr.selectors.access import tenants_visible_to
from cdr.selectors.reports import TenantNotVisible, report_query_parse
from cdr.services.reports import report_summary_fresh

# A picker, not a list: staff belong to a handful of tenants; superusers pick by id past this.
TENANT_CHOICES = 500
TITLES = {"buckets": "Per bucket", "sip_codes": "Hangup causes by SIP code", "initiators": "Hangups by initiator"}


def _params(request: HttpRequest, tenants: list[Any]) -> QueryDict:
    params = request.GET.copy()
    # The page opens on the first tenant; the API asks for one instead.
    if not params.get("tenant") and tenants:
        params["tenant"] = str(tenants[0].id)
    return params


@admin.register(Report)
class ReportAdmin(TenantScopedAdmin):
    tenant_field = "tenant_id"

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        tenants = list(tenants_visible_to(request.user).order_by("id")[:TENANT_CHOICES])
        params = _params(request, tenants)
        summary, error = None, None
        try:
            summary = report_summary_fresh(report_query_parse(user=request.user, params=params))
        except TenantNotVisible:
            raise Http404("No such tenant.") from None
        except BucketError as exc:
            error = f"{exc.param}: {exc}"
        if summary is not None and params.get("format") == "csv":
            table = params.get("table") if params.get("table") in TABLES else "buckets"
            response = HttpResponse(summary_csv(summary, table), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{summary_filename(summary, table)}"'
            return response
        form = {k: params.get(k, "") for k in ("tenant", "from", "to", "bucket", "tz", "direction")}
        if summary is not None:
            form |= {k: summary[k] for k in ("from", "to", "bucket", "tz")}
        tables = []
        if summary is not None:
            for table in TABLES:
                header, rows = summary_rows(summary, table)
                csv_params = params.copy()
                csv_params.update({"format": "csv", "table": table})
                tables.append(
                    {
                        "name": table,
                        "title": TITLES[table],
                        "header": header,
                        "rows": [[row[h] for h in header] for row in rows],
                        "csv": "?" + csv_params.urlencode(),
                    }
                )
        context = {
            **self.admin_site.each_context(request),
            **(extra_context or {}),
            "title": "Reports",
            "opts": self.model._meta,
            "tenants": tenants,
            "form": form,
            "buckets": BUCKETS,
            "summary": summary,
            "tables": tables,
            "error": error,
            "definitions": metrics.__doc__,
            "max_buckets": MAX_BUCKETS,
            "ner_codes": sorted(metrics.NER_USER_CODES),
        }
        return TemplateResponse(request, "admin/cdr/report/reports.html", context, status=400 if error else 200)
