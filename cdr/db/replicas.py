"""Read replicas: pages that only read go to a replica that keeps up; everything else, the primary.

``CDR_READ_REPLICAS["ALIASES"]`` names database aliases that are streaming replicas of ``default``
(the project fills them from ``DATABASE_REPLICA_URLS``). With none, nothing here does anything.

What reads a replica: the requests ``ReplicaReadsMiddleware`` lets (safe methods on the views
named in ``VIEWS``: the admin's call pages and reports, the API's list, detail, export and report),
and code run inside ``replica_reads()`` (``cdr_export``). What stays on the primary: every write,
every read inside a transaction on the primary (a write path, such as a report's catch-up, reads
what it writes),
every other request, and read-after-write paths by construction, since they are not listed:
ingestion, the API's change feed (``order=updated``: its settle window assumes it sees commits at
once), the recording link and its access log, admin actions (POST), and any request from a client
that wrote in the last ``STICKY_SECONDS`` (a cookie set on its unsafe requests), so an operator
sees their own change on the page the admin redirects to.

A replica is used only while it answers and its replay lag is at most ``MAX_LAG_SECONDS``: each
process checks each replica at most every ``CHECK_SECONDS`` (one query), and reads the primary
while none is fit. One that stops between two checks fails a request's read: the middleware marks
it unfit (``replica_down``) and runs the request again on the primary, once. Lag is 0 when the
replica has replayed all the WAL it received; otherwise the age of the last transaction it
replayed (PostgreSQL's usual measure, which reads high only while replay is behind, as an idle
primary sends nothing to replay).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import DatabaseError, connections

from cdr.conf import cdr_setting

log = logging.getLogger("cdr.db")

_READING: ContextVar[str | None] = ContextVar("cdr_replica_alias", default=None)
REPLICA_LAG_SQL = """
    SELECT CASE
        WHEN NOT pg_is_in_recovery() THEN NULL
        WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
        ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())
    END
"""


class _Health:
    """Per process: each replica's last check (monotonic time, fit)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[float, bool]] = {}

    def fit(self, alias: str, *, max_lag: float, every: float) -> bool:
        now = time.monotonic()
        with self._lock:
            seen = self._seen.get(alias)
            if seen is not None and now - seen[0] < every:
                return seen[1]
        lag = replica_lag(alias)
        ok = lag is not None and lag <= max_lag
        if lag is not None and not ok:
            log.warning("read replica %s is %.1f s behind (bound %.1f s): reading the primary", alias, lag, max_lag)
        with self._lock:
            self._seen[alias] = (now, ok)
        return ok

    def down(self, alias: str) -> None:
        """A read on ``alias`` failed: unfit until the next check, ``CHECK_SECONDS`` from now."""
        with self._lock:
            self._seen[alias] = (time.monotonic(), False)

    def forget(self) -> None:
        with self._lock:
            self._seen.clear()


HEALTH = _Health()


def replica_lag(alias: str) -> float | None:
    """Seconds the replica ``alias`` is behind (0: caught up); None when it is down or not a replica."""
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute(REPLICA_LAG_SQL)
            (lag,) = cursor.fetchone()
    except DatabaseError as exc:
        log.warning("read replica %s unavailable: %s", alias, str(exc).strip().splitlines()[0][:200])
        connections[alias].close()
        return None
    if lag is None:
        log.warning("read replica %s is not in recovery: not used", alias)
        return None
    return float(lag)


def replica_down(alias: str, exc: BaseException) -> None:
    """A read on the replica ``alias`` failed (it stopped since its last check): mark it unfit and
    drop its connection, so the next reads, here and in the next requests, go to the primary."""
    log.warning(
        "read replica %s failed a read (%s: %s): reading the primary",
        alias,
        type(exc).__name__,
        (str(exc).strip().splitlines() or [""])[0][:200],
    )
    HEALTH.down(alias)
    try:
        connections[alias].close()
    except DatabaseError:
        pass


def fit_replica() -> str | None:
    """A replica alias fit to read from now (random among the fit ones), or None: the primary."""
    conf = cdr_setting("CDR_READ_REPLICAS")
    aliases = list(conf["ALIASES"])
    random.shuffle(aliases)
    for alias in aliases:
        if HEALTH.fit(alias, max_lag=conf["MAX_LAG_SECONDS"], every=conf["CHECK_SECONDS"]):
            return alias
    return None


@contextmanager
def replica_reads(alias: str | None = None) -> Iterator[str | None]:
    """Reads inside go to ``alias``, or to a fit replica; the primary when there is none."""
    chosen = alias if alias is not None else fit_replica()
    token = _READING.set(chosen)
    try:
        yield chosen
    finally:
        _READING.reset(token)


@contextmanager
def primary_reads() -> Iterator[None]:
    """Reads inside go to the primary, even within ``replica_reads()`` (a write path's own reads)."""
    token = _READING.set(None)
    try:
        yield
    finally:
        _READING.reset(token)


def reading_from() -> str | None:
    """The replica alias reads go to here, or None (the primary)."""
    return _READING.get()


class ReplicaRouter:
    """DATABASE_ROUTERS entry: reads inside ``replica_reads()`` go to its replica; writes and
    migrations to the primary only."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        alias = _READING.get()
        if alias is None or connections["default"].in_atomic_block:
            # Inside a transaction on the primary, code is writing: it reads what it writes.
            return None
        return alias

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True  # the same data, whichever copy an object was read from

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db in cdr_setting("CDR_READ_REPLICAS")["ALIASES"] else None
