"""The counters and histograms the processes keep themselves (Prometheus, ``cdr_`` prefix).

Each outcome is counted where it is decided, once: an ingested batch by the service that
settles its events (``ingest_outcomes_count``), a task by the Celery signals of the project's
app, a spool entry by the spool, an upload by its uploader, a transcode by its service.

Multiprocess-safe: with ``PROMETHEUS_MULTIPROC_DIR`` set before the process starts (gunicorn
workers, Celery prefork children), prometheus_client keeps every value in a per-process file
that ``/metrics`` merges; unset (``make run``, tests), they live in this process's registry.
Labels are small fixed sets (outcome, reason class, path, task name), never a tenant or a Call-ID.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable

from prometheus_client import Counter, Histogram

INGEST_EVENTS = Counter(
    "cdr_ingest_events_total",
    "Lifecycle events by ingestion path and outcome; rejected ones by reason class",
    ["path", "outcome", "reason"],
)
TASKS = Counter("cdr_tasks_total", "Celery task runs by task name and outcome", ["task", "outcome"])
TASK_DURATION = Histogram(
    "cdr_task_duration_seconds",
    "Celery task run time by task name (every outcome)",
    ["task"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
RECORDINGS_SPOOLED = Counter("cdr_recordings_spooled_total", "Recordings written to a local spool for upload")
RECORDING_UPLOADS = Counter(
    "cdr_recording_uploads_total", "Uploads of spooled recordings to storage by outcome", ["outcome"]
)
RECORDING_TRANSCODES = Counter(
    "cdr_recording_transcodes_total", "WAV transcodes of stored recordings by outcome", ["outcome"]
)
# Deprecated v1 signatures (docs/ingest.md): labelled by gateway name, a small set an operator manages.
SIGNATURE_V1 = Counter(
    "cdr_ingest_signature_v1_requests",
    "Authentic ingestion requests signed v1 (deprecated), by gateway; refused: after CDR_INGEST_SIGNATURE_V1_UNTIL",
    ["gateway", "refused"],
)

# Where an event's outcome was decided: the HTTP edge's answer ("http"); the store, for events of
# the in-process sink ("sink"), for those the edge accepted and queued ("http_store": each HTTP
# event is counted there again) and for its own (the sweeper's expiries: "other").
INGEST_PATHS = ("http", "http_store", "sink", "other")
OUTCOMES = ("accepted", "duplicate", "rejected")
# Why an event was refused: malformed, a tenant the deliverer may not write, an event_id reused
# for other content, a call that cannot be given a start, a call record retention deleted.
REASONS = ("invalid", "tenant", "conflict", "startless", "expired")
TASK_OUTCOMES = ("success", "retry", "failure")


def ingest_outcomes_count(*, path: str, outcomes: Iterable[tuple[str, str]]) -> None:
    """Count (outcome, reason class) pairs of one batch; the reason class is "" unless rejected."""
    if path not in INGEST_PATHS:
        path = "other"
    tally = collections.Counter((outcome, reason if outcome == "rejected" else "") for outcome, reason in outcomes)
    for (outcome, reason), n in tally.items():
        INGEST_EVENTS.labels(path=path, outcome=outcome, reason=reason).inc(n)


def task_label(name: str | None) -> str:
    """The task's registered name when it is one of the app's (``cdr.*``), else "other"."""
    return name if name and name.startswith("cdr.") and len(name) <= 64 else "other"


def _zeros() -> None:
    """Every ingestion and storage series from the start, at 0: a rate or an alert on a reason that
    has not happened yet reads 0, not "no data"."""
    for path in INGEST_PATHS:
        for outcome in ("accepted", "duplicate"):
            INGEST_EVENTS.labels(path=path, outcome=outcome, reason="")
        for reason in REASONS:
            INGEST_EVENTS.labels(path=path, outcome="rejected", reason=reason)
    for outcome in ("uploaded", "failed"):
        RECORDING_UPLOADS.labels(outcome=outcome)
    for outcome in ("ready", "failed"):
        RECORDING_TRANSCODES.labels(outcome=outcome)


_zeros()
