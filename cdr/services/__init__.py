"""Write paths. Every domain write goes through one of these functions (`<entity>_<action>`)."""

from cdr.services.calls import calls_refresh
from cdr.services.events import IngestResult, batches_purge, calls_expire, events_ingest
from cdr.services.recordings import (
    RecordingUnavailable,
    legal_hold_place,
    legal_hold_release,
    recording_link,
    recording_policy_set,
    recording_store,
    recording_transcode,
    recording_upload_spooled,
    recording_waveform,
    recordings_attach_calls,
    recordings_purge,
    recordings_resume,
)

__all__ = [
    "IngestResult",
    "RecordingUnavailable",
    "batches_purge",
    "calls_expire",
    "calls_refresh",
    "events_ingest",
    "legal_hold_place",
    "legal_hold_release",
    "recording_link",
    "recording_policy_set",
    "recording_store",
    "recording_transcode",
    "recording_upload_spooled",
    "recording_waveform",
    "recordings_attach_calls",
    "recordings_purge",
    "recordings_resume",
]
