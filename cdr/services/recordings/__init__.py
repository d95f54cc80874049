"""Write paths for recordings: store, upload from the spool (on any host), transcode, hand out links, purge.

One module per concern; every name stays importable from ``cdr.services.recordings``. The object
keys are ``cdr.storage.keys`` (pure), re-exported here for the callers that knew them here.
"""

from cdr.services.recordings.links import RecordingUnavailable, recording_link, recording_waveform
from cdr.services.recordings.retention import (
    legal_hold_place,
    legal_hold_release,
    recording_objects_delete,
    recording_policy_set,
    recordings_purge,
)
from cdr.services.recordings.spooled import (
    recording_spooled_put,
    recording_spooled_record,
    recording_stored_record,
    recording_upload_spooled,
)
from cdr.services.recordings.store import recording_store, recordings_attach_calls
from cdr.services.recordings.transcode import recording_transcode, recordings_resume
from cdr.storage.keys import (
    WAVEFORM_SUFFIX,
    recording_call_dir,
    recording_key,
    spool_name,
    taps_key,
    waveform_key,
)

__all__ = [
    "WAVEFORM_SUFFIX",
    "RecordingUnavailable",
    "legal_hold_place",
    "legal_hold_release",
    "recording_call_dir",
    "recording_key",
    "recording_link",
    "recording_objects_delete",
    "recording_policy_set",
    "recording_spooled_put",
    "recording_spooled_record",
    "recording_store",
    "recording_stored_record",
    "recording_transcode",
    "recording_upload_spooled",
    "recording_waveform",
    "recordings_attach_calls",
    "recordings_purge",
    "recordings_resume",
    "spool_name",
    "taps_key",
    "waveform_key",
]
