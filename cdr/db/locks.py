"""Per-call serialisation of concurrent batches."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from django.db import OperationalError, connection


class CallsBusy(OperationalError):
    """A call found only under the locks already held is locked by another transaction.

    An ``OperationalError`` (``cdr.db.queries.DATABASE_UNREACHABLE``): the task storing the batch
    retries it, as it would after PostgreSQL broke a deadlock.
    """


def _key(call_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(call_id.encode(), digest_size=8).digest(), "big", signed=True)


def _keys(call_ids: Iterable[str]) -> list[int]:
    return sorted({_key(c) for c in call_ids if c})


def calls_lock(call_ids: Iterable[str]) -> None:
    """Hold a transaction-scoped lock per call id until commit; reentrant (a held one is taken again).

    Two workers folding the same call at once could each miss the other's uncommitted events
    and the later commit would win with a stale record. Keys are taken in sorted order in one
    statement, so two transactions whose only waiting lock call is this one, made before any
    other lock or row write, never deadlock on these locks: ``events_ingest`` locks every call
    its batch may write (with the legs and parents it looked up first) that way, and whatever it
    finds later only through ``calls_try_lock``, which never waits. A second blocking call in a
    transaction that already holds some of these locks can deadlock. SQLite has one writer at a
    time already.
    """
    if connection.vendor != "postgresql":
        return
    keys = _keys(call_ids)
    if not keys:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT unnest(%s::bigint[]) AS k ORDER BY 1) s",
            [keys],
        )


def calls_try_lock(call_ids: Iterable[str]) -> None:
    """Take these calls' locks without waiting, or raise ``CallsBusy`` (the transaction must end).

    For calls a transaction discovers after its ``calls_lock``: waiting for them then, out of
    order, could deadlock. Locks taken before the failure stay held until the rollback.
    """
    call_ids = [c for c in call_ids if c]
    if connection.vendor != "postgresql" or not call_ids:
        return
    keys = _keys(call_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT bool_and(pg_try_advisory_xact_lock(k)) FROM (SELECT unnest(%s::bigint[]) AS k ORDER BY 1) s",
            [keys],
        )
        (ok,) = cursor.fetchone()
    if not ok:
        raise CallsBusy(f"calls locked by another transaction: {', '.join(sorted(call_ids)[:5])}")
