"""Keyset (cursor) pagination on the (-started_at, -id) index: no OFFSET scans, stable under inserts."""

from __future__ import annotations

from typing import Any

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination


class CallCursorPagination(CursorPagination):
    ordering = ("-started_at", "-id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request: Any) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isdigit() or not 1 <= int(raw) <= self.max_page_size:
            raise ValidationError({"page_size": f"expected an integer 1..{self.max_page_size}, got {raw[:100]!r}"})
        return int(raw)

    def decode_cursor(self, request: Any) -> Cursor | None:
        # DRF answers a bad cursor with 404; it is bad input, and a forged position would reach
        # the database as an unparsable timestamp (500).
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise ValidationError({"cursor": "invalid cursor"}) from None
        if cursor is not None and cursor.position is not None and not _is_datetime(cursor.position):
            raise ValidationError({"cursor": "invalid cursor"})
        return cursor


def _is_datetime(value: str) -> bool:
    try:
        return parse_datetime(value) is not None
    except ValueError:
        return False
