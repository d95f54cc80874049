"""ITU-T G.711 mu-law / A-law as numpy lookup tables (decode) and vectorised encoders."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

_BIAS = 0x84
_CLIP = 32635


def _build_ulaw_table() -> NDArray[np.int16]:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def _build_alaw_table() -> NDArray[np.int16]:
    codes = np.arange(256, dtype=np.int32) ^ 0x55
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = np.where(
        exponent == 0,
        (mantissa << 4) + 8,
        ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0),
    )
    return np.where(sign != 0, magnitude, -magnitude).astype(np.int16)


ULAW_TABLE: NDArray[np.int16] = _build_ulaw_table()
ALAW_TABLE: NDArray[np.int16] = _build_alaw_table()
ULAW_TABLE.setflags(write=False)
ALAW_TABLE.setflags(write=False)


def decode_ulaw(data: bytes | bytearray | memoryview | NDArray[np.uint8]) -> NDArray[np.int16]:
    """Decode mu-law bytes to int16 samples (0xFF and 0x7F decode to 0)."""
    codes = data if isinstance(data, np.ndarray) else np.frombuffer(data, dtype=np.uint8)
    return ULAW_TABLE[codes]


def decode_alaw(data: bytes | bytearray | memoryview | NDArray[np.uint8]) -> NDArray[np.int16]:
    """Decode A-law bytes to int16 samples (0xD5 decodes to +8, 0x55 to -8)."""
    codes = data if isinstance(data, np.ndarray) else np.frombuffer(data, dtype=np.uint8)
    return ALAW_TABLE[codes]


def _segment(magnitude: NDArray[np.int32], base: int) -> NDArray[np.int32]:
    """Index of the highest set bit above ``base`` (0..7), vectorised."""
    seg = np.zeros(magnitude.shape, dtype=np.int32)
    for exp in range(1, 8):
        seg = np.where(magnitude >= (base << exp), exp, seg)
    return seg


def encode_ulaw(samples: ArrayLike) -> bytes:
    """Encode int16 samples to mu-law (Sun g711.c semantics, inverse of ``decode_ulaw``)."""
    pcm = np.asarray(samples, dtype=np.int32)
    sign = np.where(pcm < 0, 0x80, 0x00)
    magnitude = np.minimum(np.abs(pcm), _CLIP) + _BIAS
    exponent = _segment(magnitude, 0x80)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    code = ~(sign | (exponent << 4) | mantissa) & 0xFF
    return bytes(code.astype(np.uint8).tobytes())


def encode_alaw(samples: ArrayLike) -> bytes:
    """Encode int16 samples to A-law (Sun g711.c semantics, inverse of ``decode_alaw``)."""
    pcm = np.asarray(samples, dtype=np.int32)
    sign = np.where(pcm >= 0, 0x80, 0x00)
    magnitude = np.where(pcm >= 0, pcm, -pcm - 1)
    magnitude = np.minimum(magnitude, 32767) >> 3
    exponent = _segment(magnitude, 0x10)
    mantissa = np.where(exponent == 0, magnitude >> 1, magnitude >> exponent) & 0x0F
    code = (sign | (exponent << 4) | mantissa) ^ 0x55
    return bytes(code.astype(np.uint8).tobytes())
