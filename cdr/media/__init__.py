"""Pure-Python (numpy) decoding of the SIP stack's RTP recording blobs to stereo WAV.

Nothing in this package imports Django. Public API::

    decode_to_wav(blob, codec, out, *, snap_ms=80) -> DecodeReport
    mapped_file(path) -> read-only view of a file, to decode it without reading it into memory
    parse_blob(blob) -> FrameTable
    build_sn3(frames) -> bytes (and build_sn2, build_sn1; Frame)
    encode_ulaw / encode_alaw / decode_ulaw / decode_alaw
    WavWriter, TapRecorder
    waveform_peaks(wav) -> Peaks, waveform_svg(peaks) -> str, WaveformError

Command line (no Django): ``python -m cdr.media decode INPUT --codec C [--snap-ms N] -o OUT.wav``.

The names above are loaded on first use (PEP 562): importing the package, or one of its
numpy-free modules (``cli``, ``codecs``, ``errors``, ``mapped``, ``sn3``), does not import numpy,
so a command line's ``--help`` or usage error, or a module that only refers to ``media.X`` in
its functions, does not pay for it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from cdr.media.waveform import Peaks, WaveformError, waveform_peaks, waveform_svg

# public name -> the module defining it
_MODULES = {
    "CodecUnavailableError": "errors",
    "CorruptTimelineError": "errors",
    "DecodeError": "errors",
    "DecodeReport": "decode",
    "EmptyRecordingError": "errors",
    "Frame": "sn3",
    "FrameTable": "frames",
    "Peaks": "waveform",
    "RecordingFormatError": "errors",
    "TapRecorder": "taps",
    "UnknownCodecError": "errors",
    "WavWriter": "wav",
    "WaveformError": "waveform",
    "build_sn1": "sn3",
    "build_sn2": "sn3",
    "build_sn3": "sn3",
    "decode_alaw": "g711",
    "decode_to_wav": "decode",
    "decode_ulaw": "g711",
    "encode_alaw": "g711",
    "encode_ulaw": "g711",
    "mapped_file": "mapped",
    "parse_blob": "frames",
    "waveform_peaks": "waveform",
    "waveform_svg": "waveform",
}

__all__ = [
    "CodecUnavailableError",
    "CorruptTimelineError",
    "DecodeError",
    "DecodeReport",
    "EmptyRecordingError",
    "Frame",
    "FrameTable",
    "Peaks",
    "RecordingFormatError",
    "TapRecorder",
    "UnknownCodecError",
    "WavWriter",
    "WaveformError",
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
    "waveform_peaks",
    "waveform_svg",
]


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups do not come back here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULES))
