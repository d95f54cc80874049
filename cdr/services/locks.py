"""Per-call serialisation of concurrent batches."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from django.db import connection


def _key(call_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(call_id.encode(), digest_size=8).digest(), "big", signed=True)


def calls_lock(call_ids: Iterable[str]) -> None:
    """Hold a transaction-scoped lock per call id until commit.

    Two workers folding the same call at once could each miss the other's uncommitted events
    and the later commit would win with a stale record. Keys are taken in sorted order so two
    batches never deadlock. SQLite has one writer at a time already.
    """
    if connection.vendor != "postgresql":
        return
    keys = sorted({_key(c) for c in call_ids if c})
    if not keys:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT unnest(%s::bigint[]) AS k ORDER BY 1) s",
            [keys],
        )
