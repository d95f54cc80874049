"""Reads of the HTTP queue (``GatewayBatch``) and of the batches the store has committed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import close_old_connections
from django.db.models import Count, Min, Q, Sum

from cdr.models import GatewayBatch, IngestedBatch


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


def committed_batches(batch_ids: list[str]) -> set[str]:
    """Which of these batches the store has committed (the worker records each in its transaction).

    Asked from the lifecycle sink's own thread: its connection is closed when idle so that a
    long-lived gateway process does not hold one open between flushes.
    """
    try:
        return set(IngestedBatch.objects.filter(batch_id__in=batch_ids).values_list("batch_id", flat=True))
    finally:
        close_old_connections()
