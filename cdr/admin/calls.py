"""The call list and call detail: read-only, tenant-scoped, fast on millions of rows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import StreamingHttpResponse
from django.urls import path
from django.utils.html import format_html

from cdr.admin import filters
from cdr.admin.active import active_calls_view
from cdr.admin.changelist import KeysetChangeList
from cdr.admin.detail import call_detail
from cdr.admin.display import duration, local_time, seconds
from cdr.admin.erasure import erasure_apply, erasure_preview, hold_place, hold_release
from cdr.admin.recordings import recording_urls, recordings_by_call, recordings_detail
from cdr.admin.scoping import TenantScopedAdmin, search_term_unmatchable
from cdr.models import Call
from cdr.reports.columns import csv_header, record_csv_line
from cdr.selectors import call_records_iter
from cdr.selectors.calls import label_values_q

CALL_ID_SHOWN = 18  # characters of a Call-ID in the list; the whole one is its title


@admin.register(Call)
class CallAdmin(TenantScopedAdmin):
    # The essential columns first; remote address and scenario only where the screen is wide
    # enough (calls.css hides them below 1700 px): at 1366 px the table fits its pane unscrolled.
    list_display = (
        "started",
        "tenant_name",
        "call_id_short",
        "direction",
        "status",
        "duration",
        "sip",
        "play",
        "remote_addr",
        "scenario",
    )
    list_display_links = ("call_id_short",)
    list_select_related = ("tenant",)
    list_per_page = 100
    sortable_by = ()
    ordering = ("-started_at", "-id")  # the index order (autocomplete too)
    search_fields = ("call_id",)  # searched by get_search_results below, never with icontains
    search_help_text = (
        "Call-ID (exact or prefix), correlation id (exact), remote address (prefix),"
        " a from / to / did / campaign label (exact, e.g. +33612345678)."
    )
    list_filter = (
        filters.TenantFilter,
        filters.StartedFilter,
        ("direction", admin.ChoicesFieldListFilter),
        ("status", admin.ChoicesFieldListFilter),
        filters.SipClassFilter,
        filters.SipCodeFilter,
        ("hangup_initiator", admin.ChoicesFieldListFilter),
        filters.ScenarioFilter,
        filters.HasRecordingFilter,
        filters.TransferredFilter,
        filters.LabelFilter,
    )
    actions = ("export_csv", erasure_preview, erasure_apply, hold_place, hold_release)
    change_form_template = "admin/cdr/call/change_form.html"
    change_list_template = "admin/cdr/call/change_list.html"
    readonly_fields = ("duration_display", "billable_display", "pdd_display")
    fieldsets = (
        (None, {"fields": ("call_id", "correlation_id", "tenant", "direction", "scenario", "status")}),
        ("Network", {"fields": ("remote_addr", "local_ip", "codec")}),
        ("Durations", {"fields": ("duration_display", "billable_display", "pdd_display")}),
        ("End", {"fields": ("hangup_initiator", "sip_code", "hangup_reason")}),
    )
    # The labels are shown by change_form.html (a table of key and value), not as a JSON field.

    def has_superuser_permission(self, request: Any) -> bool:
        """Erasure and legal holds: superusers only (``permissions=["superuser"]`` on the actions)."""
        return request.user.is_active and request.user.is_superuser

    def get_queryset(self, request: Any) -> QuerySet[Call]:
        return super().get_queryset(request).select_related("tenant")

    def get_changelist(self, request: Any, **kwargs: Any) -> type[KeysetChangeList]:
        return KeysetChangeList

    def get_search_results(self, request: Any, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        # Django's default is icontains: a leading-wildcard LIKE that reads every row. These are
        # equality and prefix matches, each served by an index (call_id's unique + _like index,
        # cdr_call_correlation, cdr_call_remote).
        term = search_term.strip()
        if not term:
            return queryset, False
        if search_term_unmatchable(term):
            return queryset.none(), False
        q = Q(call_id__startswith=term) | Q(correlation_id=term) | Q(remote_addr__startswith=term)
        q |= label_values_q(term, db=queryset.db)  # the conventional labels (cdr_call_labels)
        return queryset.filter(q), False

    def get_urls(self) -> list[Any]:
        active = self.admin_site.admin_view(active_calls_view(self))
        return [path("active/", active, name="cdr_call_active"), *super().get_urls()]

    @admin.display(description="Call-ID")
    def call_id_short(self, obj: Call) -> str:
        if len(obj.call_id) <= CALL_ID_SHOWN:
            return obj.call_id
        return format_html('<span title="{}">{}…</span>', obj.call_id, obj.call_id[: CALL_ID_SHOWN - 1])

    @admin.display(description="Started")
    def started(self, obj: Call) -> str:
        return local_time(obj.started_at, obj.tenant.time_zone)

    @admin.display(description="Tenant")
    def tenant_name(self, obj: Call) -> str:
        return format_html('<span title="{}">{}</span>', obj.tenant, obj.tenant)

    @admin.display(description="Duration")
    def duration(self, obj: Call) -> str:
        return duration(obj.duration_ms)

    @admin.display(description="SIP")
    def sip(self, obj: Call) -> str:
        if not obj.sip_code and not obj.hangup_initiator:
            return ""
        title = f"hung up by {obj.hangup_initiator}" if obj.hangup_initiator else ""
        return format_html('<span title="{}">{}</span>', title, obj.sip_code or "-")

    @admin.display(description="Duration")
    def duration_display(self, obj: Call) -> str:
        return duration(obj.duration_ms) or "-"

    @admin.display(description="Billable")
    def billable_display(self, obj: Call) -> str:
        return duration(obj.billable_ms) or "-"

    @admin.display(description="Post-dial delay")
    def pdd_display(self, obj: Call) -> str:
        return seconds(obj.pdd_ms) or "-"

    def page_loaded(self, request: Any, rows: list[Call]) -> None:
        found = recordings_by_call(request.user, [c.call_id for c in rows])
        for call in rows:
            call.page_recordings = found.get(call.call_id, [])

    @admin.display(description="Play")
    def play(self, obj: Call) -> str:
        # A button, not a player per row: the player (one <dialog>, calls.js) asks for a link, which
        # is logged as a listen, only when the button is pressed.
        for rec in getattr(obj, "page_recordings", ()):
            urls = recording_urls(rec)
            if "play" in urls:
                return format_html(
                    '<button type="button" class="cdr-play" data-play="{}" data-download="{}" data-call="{}" '
                    'title="Play the recording" aria-label="Play the recording of {}">▶</button>',
                    urls["play"],
                    urls["download"],
                    obj.call_id,
                    obj.call_id,
                )
            return format_html(
                '<a href="{}" class="cdr-download" title="WAV {}: download the original">⤓</a>',
                urls["download_original"],
                rec.wav_status,
            )
        return ""

    @admin.action(description="Export selected calls (CSV)")
    def export_csv(self, request: Any, queryset: QuerySet[Call]) -> StreamingHttpResponse:
        # The columns of every export (cdr.reports.columns): cdr_export's and the API's too.
        def rows() -> Iterator[str]:
            yield csv_header()
            for record in call_records_iter(queryset.select_related(None)):
                yield record_csv_line(record)

        response = StreamingHttpResponse(rows(), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="calls.csv"'
        return response

    def render_change_form(self, request: Any, context: dict[str, Any], *args: Any, obj: Any = None, **kw: Any) -> Any:
        if obj is not None:
            context.update(call_detail(user=request.user, call=obj))
            context["recordings"] = recordings_detail(request.user, obj.call_id, obj.tenant.time_zone)
        return super().render_change_form(request, context, *args, obj=obj, **kw)
