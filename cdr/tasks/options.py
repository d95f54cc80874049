"""Presets shared by the task modules: what is retried, and how a storing task is acknowledged."""

from __future__ import annotations

from typing import Any

from cdr.db.queries import DATABASE_UNREACHABLE

try:  # botocore is only there with the S3 extra
    from botocore.exceptions import BotoCoreError, ClientError

    _S3_ERRORS: tuple[type[Exception], ...] = (BotoCoreError, ClientError)
except ImportError:  # pragma: no cover
    _S3_ERRORS = ()

# Only errors that another attempt can fix; a bad event is rejected by the service, not retried.
TRANSIENT = DATABASE_UNREACHABLE
# Storage and database outages; a recording that cannot be decoded is recorded, not retried.
MEDIA_TRANSIENT = (*DATABASE_UNREACHABLE, OSError, *_S3_ERRORS)

# Tasks that store events: acknowledged after they commit, redelivered if the worker dies, and
# retried with backoff while the database is unreachable.
STORE_TASK: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": TRANSIENT,
    "retry_backoff": 1,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 20,
}

# Idempotent media work: acknowledged when done, redelivered if the worker dies, retried with
# backoff on outages only. Time limits stay under the broker's visibility timeout (300 s) so a
# slow task is not redelivered.
MEDIA_TASK: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": MEDIA_TRANSIENT,
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "soft_time_limit": 240,
    "time_limit": 280,
}

# Periodic upkeep: idempotent, acknowledged when done, never retried (the next beat runs it again).
UPKEEP_TASK: dict[str, Any] = {"acks_late": True, "soft_time_limit": 120, "time_limit": 150}
