"""HTTP ingestion tasks: drain the gateways' queued batches into the event write path."""

from __future__ import annotations

from celery import shared_task

from cdr.services import gateway_batches, gateway_events
from cdr.tasks.options import STORE_TASK, UPKEEP_TASK


@shared_task(name="cdr.gateway_batches_drain", soft_time_limit=240, time_limit=270, **STORE_TASK)
def gateway_batches_drain() -> int:
    """Nudged by each accepted HTTP request, and on a schedule; idempotent (an empty queue is one query)."""
    return gateway_batches.gateway_batches_drain()


@shared_task(name="cdr.gateway_events_purge", **UPKEEP_TASK)
def gateway_events_purge() -> int:
    return gateway_events.gateway_events_purge()
