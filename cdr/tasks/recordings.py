"""Recording tasks: ids and names in, one service call, idempotent.

``cdr.recording_*`` tasks route to the ``media`` queue (CELERY_TASK_ROUTES) so transcoding cannot
starve CDR writes; the periodic ``cdr.recordings_*`` tasks are light and stay on the default queue.
Time limits stay under the broker's visibility timeout (300 s) so a slow task is not redelivered.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from cdr.services import recordings as svc
from cdr.tasks.options import MEDIA_TASK, UPKEEP_TASK


@shared_task(name="cdr.recording_upload", max_retries=100, **MEDIA_TASK)
def recording_upload(name: str, meta: dict[str, Any] | None = None) -> int | None:
    """Finish a spooled recording on any host: upload it from this host's spool when the entry is
    here, else record the object its spooling process already put in storage (``meta``: the spool
    entry's). A no-op when it is done, or when only the spooling host has the bytes."""
    recording = svc.recording_upload_spooled(name=name, meta=meta)
    return None if recording is None else recording.pk


@shared_task(name="cdr.recording_transcode", max_retries=20, **MEDIA_TASK)
def recording_transcode(recording_id: int) -> str | None:
    recording = svc.recording_transcode(recording_id=recording_id)
    return None if recording is None else recording.wav_status


@shared_task(name="cdr.recordings_purge", acks_late=True, soft_time_limit=240, time_limit=280)
def recordings_purge() -> int:
    return svc.recordings_purge()


@shared_task(name="cdr.recordings_resume", **UPKEEP_TASK)
def recordings_resume() -> int:
    return svc.recordings_resume()
