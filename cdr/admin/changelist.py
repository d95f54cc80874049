"""A change list for tables of millions of rows: keyset pages, no COUNT, a fixed indexed order.

Mirrors DRF's ``CursorPagination``: pages are "older than this row" / "newer than this row" on
the unique, unchanging ordering ``(started_at, id)`` descending, which the ``cdr_call_start`` and
``cdr_call_tenant_start`` indexes serve. A page costs ``list_per_page + 1`` index entries whatever
its depth. The total is shown only when it is free: the planner's estimate (``pg_class.reltuples``)
for a superuser's unfiltered list.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Model, Q
from django.utils.functional import cached_property

BEFORE, AFTER = "before", "after"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def cursor_encode(started_at: datetime, pk: int) -> str:
    return f"{(started_at - _EPOCH) // _MICRO}_{pk}"


def cursor_decode(raw: str) -> tuple[datetime, int]:
    try:
        micros, pk = raw.split("_", 1)
        return _EPOCH + int(micros) * _MICRO, int(pk)
    except (ValueError, OverflowError):
        raise IncorrectLookupParameters(f"not a page cursor: {raw[:40]!r}") from None


def estimated_rows(model: type[Model]) -> int | None:
    """The planner's row estimate for the whole table (no scan); None where there is none."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
        row = cursor.fetchone()
    # -1: never analyzed (PostgreSQL 14+).
    return int(row[0]) if row and row[0] >= 0 else None


class BoundedPaginator(Paginator):
    """Counts at most ``cap + 1`` rows (``COUNT(*)`` over a ``LIMIT`` subquery): page numbers past
    the cap do not exist. For the admin's other paginated views (autocomplete, small lists)."""

    cap = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.cap + 1].count()


def query_has_nul(request: Any) -> bool:
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists())


class CheckedChangeList(ChangeList):
    """Refuses (the admin's "invalid lookup" answer) a query string no database can be asked:
    PostgreSQL text cannot hold NUL, and the driver fails the request rather than match nothing."""

    def __init__(self, request: Any, *args: Any, **kwargs: Any):
        if query_has_nul(request):
            raise IncorrectLookupParameters("NUL characters are not allowed")
        super().__init__(request, *args, **kwargs)


class KeysetChangeList(CheckedChangeList):
    ordering = ("-started_at", "-id")

    def __init__(self, request: Any, *args: Any, **kwargs: Any):
        self.direction, self.cursor = None, None
        for name in (BEFORE, AFTER):
            if request.GET.get(name):
                self.direction, self.cursor = name, cursor_decode(request.GET[name])
                break
        self.has_newer = self.has_older = False
        self.newer_url = self.older_url = self.first_url = ""
        self.estimated_total: int | None = None
        self.estimated_total_display = ""
        super().__init__(request, *args, **kwargs)

    def get_filters_params(self, params: Any = None) -> dict[str, Any]:
        lookup_params = super().get_filters_params(params)
        for name in (BEFORE, AFTER):
            lookup_params.pop(name, None)
        return lookup_params

    def get_query_string(self, new_params: Any = None, remove: Any = None) -> str:
        # Any link built from this page (a filter, a search) starts again from the newest rows.
        return super().get_query_string(new_params, [*(remove or []), BEFORE, AFTER])

    def get_ordering(self, request: Any, queryset: Any) -> list[str]:
        # Column sorting (?o=) is ignored on purpose: it would sort millions of rows per page.
        return list(self.ordering)

    def get_results(self, request: Any) -> None:
        qs = self.queryset
        if self.cursor is not None:
            at, pk = self.cursor
            if self.direction == BEFORE:
                # The range on started_at is what the index scan uses; the OR only trims ties.
                qs = qs.filter(started_at__lte=at).filter(Q(started_at__lt=at) | Q(id__lt=pk))
            else:
                qs = qs.filter(started_at__gte=at).filter(Q(started_at__gt=at) | Q(id__gt=pk)).reverse()
        rows = list(qs[: self.list_per_page + 1])
        more = len(rows) > self.list_per_page
        rows = rows[: self.list_per_page]
        if self.direction == AFTER:
            rows.reverse()
        self.has_older = more if self.direction != AFTER else True
        self.has_newer = self.direction == BEFORE or (self.direction == AFTER and more)
        if rows:
            self.older_url = self.get_query_string({BEFORE: cursor_encode(rows[-1].started_at, rows[-1].pk)})
            self.newer_url = self.get_query_string({AFTER: cursor_encode(rows[0].started_at, rows[0].pk)})
        self.first_url = self.get_query_string()
        if request.user.is_superuser and not self.has_active_filters and not self.query:
            self.estimated_total = estimated_rows(self.model)
        if self.estimated_total is not None:
            self.estimated_total_display = f"{self.estimated_total:,}"

        # One query for what the page's rows show from other tables (recordings), not one per row.
        page_loaded = getattr(self.model_admin, "page_loaded", None)
        if page_loaded is not None:
            page_loaded(request, rows)
        self.result_list = rows
        self.result_count = len(rows)
        self.full_result_count = None
        self.show_full_result_count = False
        self.show_admin_actions = True
        self.can_show_all = False
        self.multi_page = self.has_older or self.has_newer
        self.paginator = None
