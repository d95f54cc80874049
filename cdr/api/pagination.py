"""Keyset pagination on (started_at, id): the next page starts after the last row it saw.

The cursor is the signed (order, started_at, id) of that row; the query is a row comparison
``(started_at, id) < (%s, %s)`` that the (tenant, -started_at, -id) and (-started_at, -id) indexes
answer directly, so page 10,000 costs what page 1 costs (DRF's cursor adds an OFFSET within ties,
which a burst of calls in one microsecond turns into a scan).

``order=updated`` is the change feed: (updated_at, id) ascending, so a client that keeps its last
cursor gets every record written since, including calls that started long ago and ended (or got
a recording) later. Rows younger than the settle window are held back: ``updated_at`` is stamped
before its transaction commits, so a row may become visible after a younger one did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core import signing
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError

from cdr.conf import cdr_setting
from cdr.models import Call

PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
ORDERS = ("desc", "asc", "updated")
_SALT = "cdr.api.cursor"


@dataclass(frozen=True, slots=True)
class Position:
    order: str
    at: datetime  # started_at, or updated_at for the change feed
    id: int


def cursor_encode(position: Position) -> str:
    # Signed, not encrypted: the position is not secret, but a forged one must not reach SQL.
    return signing.dumps([position.order, position.at.isoformat(), position.id], salt=_SALT, compress=True)


def cursor_decode(raw: str) -> Position:
    try:
        order, at, pk = signing.loads(raw, salt=_SALT)
        when = parse_datetime(at)
        if order not in ORDERS or when is None or type(pk) is not int:
            raise ValueError
    except (signing.BadSignature, ValueError, TypeError):
        raise ValidationError({"cursor": "invalid cursor: use the `next` link of a previous page"}) from None
    return Position(order, when, pk)


def page_params(params: Any) -> tuple[str, int, Position | None]:
    """(order, page size, position) from ``order``, ``page_size`` and ``cursor``; 400 naming a bad one."""
    order = params.get("order", "desc")
    if order not in ORDERS:
        raise ValidationError({"order": f"expected desc, asc or updated, got {order[:100]!r}"})
    raw = params.get("page_size")
    size = PAGE_SIZE
    if raw is not None:
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 4) or not 1 <= int(raw) <= MAX_PAGE_SIZE:
            raise ValidationError({"page_size": f"expected an integer 1..{MAX_PAGE_SIZE}, got {raw[:100]!r}"})
        size = int(raw)
    position = None
    if params.get("cursor") is not None:
        position = cursor_decode(params["cursor"])
        if position.order != order:
            raise ValidationError({"cursor": f"this cursor walks {position.order}, not {order}: keep `order`"})
    return order, size, position


def _settled_before() -> datetime:
    return timezone.now() - timedelta(seconds=cdr_setting("CDR_API_CHANGES_SETTLE_SECONDS"))


def calls_page(
    qs: QuerySet[Call], *, order: str, size: int, after: Position | None, tenant_id: int | None = None
) -> tuple[list[Call], Position | None]:
    """One page of ``qs`` and the position to continue from (None on the last page). One query.

    ``tenant_id``: the one tenant ``qs`` is limited to, if it is; the comparison then leads with
    it, so the (tenant, -started_at, -id) index answers (else a small tenant's deep page walks
    the global index past every other tenant's rows). The change feed reads the (updated_at, id)
    index: from a recent cursor it walks only what changed since, whoever's it is.
    """
    key = "updated_at" if order == "updated" else "started_at"
    if order == "updated":
        qs = qs.filter(updated_at__lte=_settled_before())
        tenant_id = None
    if after is not None:
        table = Call._meta.db_table
        op = "<" if order == "desc" else ">"
        columns, values = [key, "id"], [after.at, after.id]
        if tenant_id is not None:
            columns.insert(0, "tenant_id")
            values.insert(0, Call._meta.get_field("tenant").target_field.get_prep_value(tenant_id))
            qs = qs.filter(tenant_id=tenant_id)
        left = ", ".join(f'"{table}"."{c}"' for c in columns)
        right = ", ".join(["%s"] * len(values))
        qs = qs.filter(RawSQL(f"({left}) {op} ({right})", values, output_field=BooleanField()))
    ordering = (f"-{key}", "-id") if order == "desc" else (key, "id")
    rows = list(qs.order_by(*ordering)[: size + 1])
    if len(rows) <= size:
        # The change feed never ends: a short page means "caught up", and its position is
        # where the client polls from next time.
        if order == "updated":
            return rows, Position(order, rows[-1].updated_at, rows[-1].id) if rows else after
        return rows, None
    rows = rows[:size]
    return rows, Position(order, getattr(rows[-1], key), rows[-1].id)
