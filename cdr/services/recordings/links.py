"""Recordings handed out: short-lived links (logged in RecordingAccess) and the cached waveform."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.urls import reverse

from cdr.conf import cdr_setting
from cdr.media.waveform import WaveformError, waveform_peaks, waveform_svg
from cdr.models import AccessPurpose, Recording, RecordingAccess, WavStatus
from cdr.selectors.recordings import recording_download_name, recording_link_sign, recording_visible_to
from cdr.storage.backend import recordings_link_storage, recordings_storage, storage_is_s3
from cdr.storage.filenames import content_disposition
from cdr.storage.keys import waveform_key

log = logging.getLogger("cdr.recordings")


class RecordingUnavailable(Exception):
    """The recording exists but the asked-for file does not (deleted, or no WAV)."""


def recording_link(*, user: Any, recording: Recording, purpose: str, variant: str = "wav") -> str:
    """A short-lived URL to the WAV (or the original) for a user allowed to see the call.

    Raises PermissionDenied, or RecordingUnavailable when the file is gone or was never made.
    Every link handed out is recorded in RecordingAccess.
    """
    if not recording_visible_to(user, recording):
        raise PermissionDenied("not allowed to access this recording")
    purpose = AccessPurpose(purpose)
    if recording.deleted_at is not None:
        raise RecordingUnavailable("recording deleted by the retention policy")
    if variant == "wav":
        if recording.wav_status != WavStatus.READY or not recording.wav_key:
            raise RecordingUnavailable(recording.wav_error or "the WAV is not ready yet")
        key = recording.wav_key
    elif variant == "original":
        key = recording.storage_key
    else:
        raise ValueError(f"variant must be 'wav' or 'original', got {variant!r}")
    RecordingAccess.objects.create(recording=recording, user=user, purpose=purpose, variant=variant)
    storage = recordings_storage()
    attachment = purpose == AccessPurpose.DOWNLOAD
    expire = cdr_setting("CDR_RECORDINGS")["LINK_SECONDS"]
    name = recording_download_name(recording=recording, key=key)
    if storage_is_s3(storage):
        params = {"ResponseContentDisposition": content_disposition(name, attachment=attachment)}
        signer = recordings_link_storage()  # the address browsers reach (the same bucket)
        return str(signer.url(key, parameters=params, expire=expire))  # type: ignore[call-arg]
    token = recording_link_sign(recording_id=recording.pk, key=key, attachment=attachment, name=name)
    return reverse("cdr:recording-file", args=[token])


def recording_waveform(*, user: Any, recording: Recording) -> bytes:
    """The SVG waveform of the recording's WAV, for a user allowed to see the call.

    Rendered once (streaming the WAV) and cached in the recordings storage at ``waveform_key``;
    rendered again if that object is missing. Raises PermissionDenied, or RecordingUnavailable
    when there is no WAV (deleted, not ready, failed) or it cannot be drawn. Not an audio access:
    no RecordingAccess row.
    """
    if not recording_visible_to(user, recording):
        raise PermissionDenied("not allowed to access this recording")
    if recording.deleted_at is not None:
        raise RecordingUnavailable("recording deleted by the retention policy")
    if recording.wav_status != WavStatus.READY or not recording.wav_key:
        raise RecordingUnavailable(recording.wav_error or "the WAV is not ready yet")
    storage = recordings_storage()
    key = waveform_key(recording.wav_key)
    try:
        with storage.open(key, "rb") as f:
            return bytes(f.read())
    except FileNotFoundError:
        pass
    try:
        with storage.open(recording.wav_key, "rb") as f:
            svg = waveform_svg(waveform_peaks(f)).encode()
    except FileNotFoundError:
        raise RecordingUnavailable("the WAV file is missing from storage") from None
    except WaveformError as exc:
        log.warning("recording %s: no waveform: %s", recording.pk, exc)
        raise RecordingUnavailable(f"the WAV cannot be drawn: {exc}") from None
    saved = storage.save(key, ContentFile(svg, name=key))
    if saved != key:  # a storage that does not overwrite, and another request cached it first
        storage.delete(saved)
    return svg
