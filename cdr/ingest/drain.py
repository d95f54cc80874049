"""Store the events the HTTP edge queued (``GatewayBatch``), up to ``max_events`` per transaction.

Several requests' batches become one ``events_ingest`` call, deleted in the transaction that
stores them: a drain killed midway leaves them queued for the next one, and concurrent drains
take disjoint batches (``SKIP LOCKED``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from celery.exceptions import SoftTimeLimitExceeded
from django.db import connection, transaction
from django.db.models import Count, Min, Q, Sum

from cdr.ingest.outbox import SOURCE, drain_nudge, events_load
from cdr.models import GatewayBatch
from cdr.queries import DATABASE_UNREACHABLE
from cdr.services.events import events_ingest

log = logging.getLogger("cdr.ingest")
_LOOKAHEAD = 256  # queued batches looked at per round
# Failures that say nothing about the batch at hand: let them through (the round rolls back, the
# batches stay queued for the next drain), never set a batch aside for them.
_NOT_THE_BATCH = (*DATABASE_UNREACHABLE, SoftTimeLimitExceeded, MemoryError)


def _store(rows: list[tuple[int, int, str]]) -> None:
    events_ingest(events=[e for _, _, doc in rows for e in events_load(doc)], source=SOURCE)
    GatewayBatch.objects.filter(pk__in=[pk for pk, _, _ in rows]).delete()


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
            except Exception:
                stored += _store_one_by_one(rows)
    return stored


@dataclass(frozen=True)
class QueueState:
    """What the HTTP edge accepted and no worker has stored yet."""

    queued_batches: int
    queued_events: int
    oldest_received_at: datetime | None  # of the queued batches: how far behind the workers are
    set_aside_batches: int
    set_aside_events: int


def gateway_batches_state() -> QueueState:
    """The queue at a glance (one query): for the admin, ``cdr_gateway queue`` and monitoring."""
    queued, aside = Q(error=""), ~Q(error="")
    row = GatewayBatch.objects.aggregate(
        queued_batches=Count("id", filter=queued),
        queued_events=Sum("event_count", filter=queued, default=0),
        oldest_received_at=Min("received_at", filter=queued),
        set_aside_batches=Count("id", filter=aside),
        set_aside_events=Sum("event_count", filter=aside, default=0),
    )
    return QueueState(**row)


def gateway_batches_queued() -> int:
    """Events accepted over HTTP and not stored yet (set-aside batches not counted)."""
    return gateway_batches_state().queued_events


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
    from celery import current_app

    if current_app.conf.task_always_eager:  # no broker, no worker, no beat (the embedded default)
        gateway_batches_drain()
    else:
        drain_nudge()
