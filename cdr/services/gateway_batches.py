"""The HTTP queue (``GatewayBatch``): make a request's accepted events durable, then store them.

Broker mode: the events are queued in the database by the transaction that remembers their ids,
and ``cdr.gateway_batches_drain`` is nudged after the commit (``cdr.dispatch.drain_nudge``, a
background thread: the answer never waits for the broker). While it is down the events wait in
the table, and the drain's beat schedule (and the next nudge) stores them once it is back.
Eager mode (no broker): stored right away, in the same transaction.

The drain stores queued batches up to ``max_events`` per transaction: several requests' batches
become one ``events_ingest`` call, deleted in the transaction that stores them. A drain killed
midway leaves them queued for the next one, and concurrent drains take disjoint batches
(``SKIP LOCKED``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from cdr import dispatch
from cdr.db.queries import DATABASE_UNREACHABLE
from cdr.lifecycle.events import Event
from cdr.lifecycle.handoff import events_document, events_dump, events_load
from cdr.models import GatewayBatch
from cdr.services.events import STORE_SOURCE_HTTP, IngestResult, events_ingest

SOURCE = STORE_SOURCE_HTTP
log = logging.getLogger("cdr.ingest")
_LOOKAHEAD = 256  # queued batches looked at per round
# Failures that say nothing about the batch at hand: let them through (the round rolls back, the
# batches stay queued for the next drain), never set a batch aside for them.
_NOT_THE_BATCH = (*DATABASE_UNREACHABLE, MemoryError)  # and a task's time limit: dispatch.is_task_time_limit


class IngestUnavailable(Exception):
    """The database (or, in eager mode, the store) did not take the batch."""


def events_show(text: str) -> Any:
    """A queued batch's events as JSON, for an operator (either format of ``cdr.lifecycle.handoff``)."""
    return events_document(text)


def events_enqueue(*, events: list[Event], batch_id: str, gateway_id: int) -> IngestResult | None:
    """Inside the caller's transaction: queue (or, eager, store) one request's accepted events.

    Queued as the edge validated them (``cdr.lifecycle.handoff``, format 2): the drain loads them
    without parsing them again.

    Eager: the store's verdict on each event, in order (a call another tenant owns refuses its
    events here, under the call's lock); queued: None, the verdict comes when a drain stores them.
    """
    try:
        if dispatch.is_eager():
            return events_ingest(events=events, source=SOURCE, batch_id=batch_id)
        GatewayBatch.objects.create(
            batch_id=batch_id,
            gateway_id=gateway_id,
            events=events_dump(events),
            event_count=len(events),
            received_at=timezone.now(),
        )
    except Exception as exc:
        raise IngestUnavailable(f"{type(exc).__name__}: {exc}"[:300]) from exc
    transaction.on_commit(dispatch.drain_nudge)  # at once when there is no transaction
    return None


def _store(rows: list[tuple[int, int, str]]) -> None:
    events_ingest(events=[e for _, _, doc in rows for e in events_load(doc)], source=SOURCE)
    GatewayBatch.objects.filter(pk__in=[pk for pk, _, _ in rows]).delete()


def gateway_batches_store(*, batch_ids: Iterable[int]) -> int:
    """Store these queued batches (not set aside) now, in the caller's transaction; returns the events stored.

    Takes their rows' locks (waiting for a drain that holds them: it deleted them, they are gone).
    Erasure stores the batches it masked this way, so their calls exist when it marks them erased.
    """
    rows = list(
        GatewayBatch.objects.filter(pk__in=list(batch_ids), error="")
        .select_for_update()
        .order_by("id")
        .values_list("id", "event_count", "events")
    )
    if rows:
        _store(rows)
    return sum(n for _, n, _ in rows)


def _store_one_by_one(rows: list[tuple[int, int, str]]) -> int:
    """After a round failed for a non-transient reason: each batch alone, setting aside those that fail."""
    stored = 0
    for row in rows:
        try:
            with transaction.atomic():
                _store([row])
            stored += row[1]
        except _NOT_THE_BATCH:
            raise
        except Exception as exc:
            if dispatch.is_task_time_limit(exc):
                raise
            log.error("HTTP batch %s set aside, not stored: %s: %s", row[0], type(exc).__name__, exc)
            GatewayBatch.objects.filter(pk=row[0]).update(error=f"{type(exc).__name__}: {exc}"[:2000])
    return stored


def gateway_batches_drain(*, max_events: int = 1000, max_rounds: int = 100) -> int:
    """Store queued batches until none is left (or ``max_rounds``); returns the events stored.

    Database outages propagate (the task retries; nothing was lost), as do the task's soft time
    limit and MemoryError (the next drain takes the batches again). Any other failure of a round
    is retried batch by batch, and a batch that still fails is set aside with its ``error``: one
    bad row never stops the queue.
    """
    stored = 0
    busy: set[int] = set()  # batches another drain holds: left to it
    for _ in range(max_rounds):
        with transaction.atomic():
            heads = (
                GatewayBatch.objects.filter(error="")
                .exclude(pk__in=busy)
                .order_by("id")
                .values_list("id", "event_count")
            )
            take: list[int] = []
            count = 0
            for pk, n in heads[:_LOOKAHEAD]:
                if take and count + n > max_events:
                    break
                take.append(pk)
                count += n
            if not take:
                break
            locked = GatewayBatch.objects.filter(pk__in=take).order_by("id")
            if connection.features.has_select_for_update_skip_locked:
                locked = locked.select_for_update(skip_locked=True)
            rows = list(locked.values_list("id", "event_count", "events"))
            busy.update(set(take) - {pk for pk, _, _ in rows})
            if not rows:
                continue
            try:
                with transaction.atomic():
                    _store(rows)
                stored += sum(n for _, n, _ in rows)
            except _NOT_THE_BATCH:
                raise
            except Exception as exc:
                if dispatch.is_task_time_limit(exc):
                    raise
                stored += _store_one_by_one(rows)
    return stored


def gateway_batches_retry(*, batch_ids: Iterable[int] | None = None) -> int:
    """Queue set-aside batches again (all of them, or these ids) once their cause is fixed.

    Returns how many were queued again; after the commit a worker is nudged (without a broker,
    the queue is drained right there). A batch that still cannot be stored is set aside again
    with its new error, so retrying is always safe.
    """
    batches = GatewayBatch.objects.exclude(error="")
    if batch_ids is not None:
        batches = batches.filter(pk__in=list(batch_ids))
    count = batches.update(error="")
    if count:
        transaction.on_commit(_drain_soon)
    return count


def _drain_soon() -> None:
    if dispatch.is_eager():  # no broker, no worker, no beat (the embedded default)
        gateway_batches_drain()
    else:
        dispatch.drain_nudge()
