"""Set-based upserts: one statement per batch, whatever its size.

On PostgreSQL the rows travel as one JSON document unpacked by ``json_to_recordset``: the
statement text stays small, PostgreSQL parses the rows in C, and Python only runs
``orjson.dumps``. That is several times faster than Django's ``bulk_create`` or psycopg's array
adaptation for the few thousand rows a batch writes. Other databases (the SQLite embedded
default) get the same statement row by row through ``executemany``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import orjson
from django.db import connection, models

from cdr.fields import UInt64Field


def _json_value(field: models.Field[Any, Any]) -> Callable[[Any], Any] | None:
    """How one column's Python value goes into the JSON document (PostgreSQL path); None: as it is."""
    target = field.target_field if field.is_relation else field
    return target.get_prep_value if isinstance(target, UInt64Field) else None


def _iso(value: Any) -> str:
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _document(rows: Sequence[dict[str, Any]], keys: list[str], fields: list[models.Field[Any, Any]]) -> str:
    """The rows as one JSON array of objects keyed by column."""
    names = [f.column for f in fields]
    convert = [_json_value(f) for f in fields]
    if names == keys and not any(convert):
        data: Sequence[dict[str, Any]] = rows
    else:
        pairs = list(zip(names, keys, convert, strict=True))
        data = [{n: (c(row[k]) if c else row[k]) for n, k, c in pairs} for row in rows]
    try:
        # orjson writes datetimes as isoformat() does, and is several times faster.
        return orjson.dumps(data).decode()
    except TypeError:  # what orjson refuses (an int past 64 bits in a payload): the stdlib's way
        return json.dumps(data, separators=(",", ":"), default=_iso)


def bulk_upsert(
    model: type[models.Model],
    rows: Sequence[dict[str, Any]],
    *,
    conflict: Sequence[str],
    update: Sequence[str] = (),
    merge: dict[str, str] | None = None,
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (dicts by field name or attname); on a ``conflict`` key update ``update``.

    ``merge`` maps a column to an SQL expression over ``{old}`` and ``{new}`` instead of taking
    the new value (e.g. the earliest of two times). Returns the ``returning`` columns of the rows
    written (a second query on backends that cannot return from ``executemany``).
    """
    if not rows:
        return []
    meta = model._meta
    table = connection.ops.quote_name(meta.db_table)
    keys = list(rows[0])
    fields = [meta.get_field(k) for k in keys]
    names = [f.column for f in fields]
    merge = merge or {}
    pg = connection.vendor == "postgresql"
    new = "EXCLUDED" if pg else "excluded"
    sets = [
        f"{c} = " + (merge[c].format(old=f"{table}.{c}", new=f"{new}.{c}") if c in merge else f"{new}.{c}")
        for c in update
    ]
    action = f"DO UPDATE SET {', '.join(sets)}" if sets else "DO NOTHING"
    head = f"INSERT INTO {table} ({', '.join(names)})"
    tail = f"ON CONFLICT ({', '.join(conflict)}) {action}"
    with connection.cursor() as cursor:
        if pg:
            doc = _document(rows, keys, fields)
            spec = ", ".join(f"{n} {f.db_type(connection)}" for n, f in zip(names, fields, strict=True))
            ret = f" RETURNING {', '.join(returning)}" if returning else ""
            cursor.execute(
                f"{head} SELECT {', '.join(names)} FROM json_to_recordset(%s::json) AS x({spec}) {tail}{ret}", [doc]
            )
            return list(cursor.fetchall()) if returning else []
        params = [
            [
                (
                    json.dumps(row[k], default=_iso)  # datetimes as orjson writes them on PostgreSQL
                    if isinstance(f, models.JSONField)
                    else f.get_db_prep_save(row[k], connection)
                )
                for f, k in zip(fields, keys, strict=True)
            ]
            for row in rows
        ]
        cursor.executemany(f"{head} VALUES ({', '.join(['%s'] * len(names))}) {tail}", params)
    if not returning:
        return []
    key = conflict[0]
    return list(model._default_manager.filter(**{f"{key}__in": [row[key] for row in rows]}).values_list(*returning))
