"""Codec table: audio rate, RTP clock, payload sizes that are not audio (numpy-free: the command
lines read it to validate their arguments)."""

from __future__ import annotations

from dataclasses import dataclass

from cdr.media.errors import UnknownCodecError


@dataclass(frozen=True, slots=True)
class CodecSpec:
    name: str
    sample_rate: int  # output audio rate
    clock_rate: int  # RTP timestamp clock
    bytes_per_sample: float  # payload bytes per output sample (0 = variable, Opus)

    @property
    def audio_per_tick(self) -> int:
        return self.sample_rate // self.clock_rate


CODECS: dict[str, CodecSpec] = {
    "pcmu": CodecSpec("pcmu", 8000, 8000, 1.0),
    "pcma": CodecSpec("pcma", 8000, 8000, 1.0),
    "g722": CodecSpec("g722", 16000, 8000, 0.5),
    "opus": CodecSpec("opus", 48000, 48000, 0.0),
}

DTMF_BYTES = 4  # RFC 4733 telephone-event payload
MAX_CN_BYTES = 3  # RFC 3389 comfort noise: 1 level byte (+ rarely a few spectral bytes)


def get_codec(name: str) -> CodecSpec:
    spec = CODECS.get(name.strip().lower()) if isinstance(name, str) else None
    if spec is None:
        raise UnknownCodecError(f"unknown codec {name!r} (expected one of: {', '.join(CODECS)})")
    return spec
