"""Pure-Python (numpy) decoding of the SIP stack's RTP recording blobs to stereo WAV.

Nothing in this package imports Django. Public API::

    decode_to_wav(blob, codec, out, *, snap_ms=80) -> DecodeReport
    mapped_file(path) -> read-only view of a file, to decode it without reading it into memory
    parse_blob(blob) -> FrameTable
    Sn3Writer / build_sn3(frames) -> bytes
    encode_ulaw / encode_alaw / decode_ulaw / decode_alaw
    WavWriter, TapRecorder
"""

from cdr.media.decode import DecodeReport, decode_to_wav
from cdr.media.errors import (
    CodecUnavailableError,
    CorruptTimelineError,
    DecodeError,
    EmptyRecordingError,
    RecordingFormatError,
    UnknownCodecError,
)
from cdr.media.frames import FrameTable, parse_blob
from cdr.media.g711 import decode_alaw, decode_ulaw, encode_alaw, encode_ulaw
from cdr.media.mapped import mapped_file
from cdr.media.sn3 import Frame, build_sn1, build_sn2, build_sn3
from cdr.media.taps import TapRecorder
from cdr.media.wav import WavWriter

__all__ = [
    "CodecUnavailableError",
    "CorruptTimelineError",
    "DecodeError",
    "DecodeReport",
    "EmptyRecordingError",
    "Frame",
    "FrameTable",
    "RecordingFormatError",
    "TapRecorder",
    "UnknownCodecError",
    "WavWriter",
    "build_sn1",
    "build_sn2",
    "build_sn3",
    "decode_alaw",
    "decode_to_wav",
    "decode_ulaw",
    "encode_alaw",
    "encode_ulaw",
    "mapped_file",
    "parse_blob",
]
