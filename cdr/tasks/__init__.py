"""Celery tasks: thin, JSON in, one service call, idempotent (safe to run twice).

Autodiscovered as ``cdr.tasks``; importing the package registers every task. Task names
(``cdr.<action>``) are the contract with queued messages, beat entries and ``cdr.dispatch``:
they never change when a task moves between modules.
"""

from cdr.tasks.events import batches_purge, calls_expire, events_ingest
from cdr.tasks.ingest import gateway_batches_drain, gateway_events_purge
from cdr.tasks.recordings import recording_transcode, recording_upload, recordings_purge, recordings_resume
from cdr.tasks.records import event_partitions_ensure, records_purge
from cdr.tasks.reports import report_peaks_refresh, rollups_catch_up

__all__ = [
    "batches_purge",
    "calls_expire",
    "event_partitions_ensure",
    "events_ingest",
    "gateway_batches_drain",
    "gateway_events_purge",
    "recording_transcode",
    "recording_upload",
    "recordings_purge",
    "recordings_resume",
    "records_purge",
    "report_peaks_refresh",
    "rollups_catch_up",
]
