"""Domain exceptions of cdr.media. ``str(exc)`` is always one human-readable line."""

from __future__ import annotations


class DecodeError(Exception):
    """Base class: the recording cannot be turned into audio."""


class RecordingFormatError(DecodeError):
    """The input is not a recording this package can read."""


class EmptyRecordingError(RecordingFormatError):
    """The input is a recording but holds no audio frame."""


class CorruptTimelineError(RecordingFormatError):
    """Wall clock or RTP timestamps would place audio absurdly far apart."""


class UnknownCodecError(DecodeError):
    """The codec string is not one of pcmu, pcma, g722, opus."""


class CodecUnavailableError(DecodeError):
    """The codec is known but its native library is not installed."""
