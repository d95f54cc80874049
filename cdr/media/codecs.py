"""Codec table: audio rate, RTP clock, and which payloads are not audio."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

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


def non_audio_mask(
    spec: CodecSpec, blob: NDArray[np.uint8], offset: NDArray[np.int64], length: NDArray[np.int64]
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """(dtmf, comfort_noise) masks of payloads that must not be decoded as audio.

    G.711/G.722: any 4-byte payload is DTMF, 1..3-byte payloads are comfort noise, empty
    payloads are dropped as CN too. Opus: a 4-byte payload is DTMF only if it looks like an
    RFC 4733 event (event code <= 16 and reserved bit clear); empty payloads count as CN.
    """
    empty = length == 0
    if spec.name != "opus":
        return length == DTMF_BYTES, empty | ((length >= 1) & (length <= MAX_CN_BYTES))
    four = length == DTMF_BYTES
    safe = np.where(four, offset, 0)
    first = blob[np.minimum(safe, blob.size - 1)] if blob.size else np.zeros(offset.size, np.uint8)
    second = blob[np.minimum(safe + 1, blob.size - 1)] if blob.size else first
    dtmf = four & (first <= 16) & ((second & 0x40) == 0)
    return dtmf, empty
