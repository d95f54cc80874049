"""Superuser actions on the call list (erase a person's data, place or release a legal hold) and
the audit trail of deletions and erasures. Each action is one service call per selected call."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet

from cdr.admin.scoping import SuperuserOnlyAdmin
from cdr.models import Call, RecordDeletion
from cdr.services.erasure import calls_erase, erasure_selector
from cdr.services.recordings.retention import legal_hold_place, legal_hold_release

# The admin acts on what a superuser ticked on one page: bounded by the page size.
_MAX = 500


def _selected(modeladmin: Any, request: Any, queryset: QuerySet[Call]) -> list[tuple[int, str]] | None:
    rows = list(queryset.order_by().values_list("tenant_id", "call_id")[: _MAX + 1])
    if len(rows) > _MAX:
        modeladmin.message_user(request, f"Select at most {_MAX} calls.", messages.ERROR)
        return None
    return rows


def _erase(modeladmin: Any, request: Any, queryset: QuerySet[Call], apply: bool) -> None:
    rows = _selected(modeladmin, request, queryset)
    if rows is None:
        return
    calls = events = recordings = held = 0
    for tenant_id, call_id in rows:
        done = calls_erase(
            tenant_id=tenant_id,
            selector=erasure_selector(call_id=call_id),
            apply=apply,
            actor="admin",
            user=request.user,
        )
        calls, events, recordings = calls + done.calls, events + done.events, recordings + done.recordings
        held += len(done.held)
    verb = "Erased" if apply else "Would erase (nothing changed yet)"
    modeladmin.message_user(
        request,
        f"{verb}: {calls} call records, {events} event payloads, {recordings} recordings of {len(rows)} calls"
        + (f"; {held} calls under legal hold kept" if held else "")
        + ("" if apply else ". Use “Erase personal data” to apply."),
        messages.SUCCESS if apply else messages.INFO,
    )


@admin.action(description="Preview erasure of personal data (dry run)", permissions=["superuser"])
def erasure_preview(modeladmin: Any, request: Any, queryset: QuerySet[Call]) -> None:
    _erase(modeladmin, request, queryset, apply=False)


@admin.action(description="Erase personal data (irreversible)", permissions=["superuser"])
def erasure_apply(modeladmin: Any, request: Any, queryset: QuerySet[Call]) -> None:
    _erase(modeladmin, request, queryset, apply=True)


@admin.action(description="Place legal hold (exempt from retention and erasure)", permissions=["superuser"])
def hold_place(modeladmin: Any, request: Any, queryset: QuerySet[Call]) -> None:
    rows = _selected(modeladmin, request, queryset)
    if rows is not None:
        for _, call_id in rows:
            legal_hold_place(call_id=call_id, reason="placed in the admin", user=request.user)
        modeladmin.message_user(request, f"Legal hold placed on {len(rows)} calls.", messages.SUCCESS)


@admin.action(description="Release legal hold", permissions=["superuser"])
def hold_release(modeladmin: Any, request: Any, queryset: QuerySet[Call]) -> None:
    rows = _selected(modeladmin, request, queryset)
    if rows is not None:
        released = sum(legal_hold_release(call_id=call_id) for _, call_id in rows)
        modeladmin.message_user(request, f"Legal hold released on {released} calls.", messages.SUCCESS)


@admin.register(RecordDeletion)
class RecordDeletionAdmin(SuperuserOnlyAdmin):
    list_display = (
        "started_at",
        "tenant_id",
        "kind",
        "policy",
        "actor",
        "user",
        "calls",
        "events",
        "recordings",
        "held",
    )
    list_filter = ("kind",)
    list_select_related = ("user",)
    readonly_fields = [f.name for f in RecordDeletion._meta.fields]
