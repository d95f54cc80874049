"""G.722 decoding/encoding through the ``G722`` package (libg722, ITU bit-exact)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from cdr.media.errors import CodecUnavailableError


def _new(sample_rate: int) -> Any:
    try:
        import G722  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise CodecUnavailableError("g722 decoding needs the G722 package (pip install G722)") from exc
    return G722.G722(sample_rate, 64000)


class G722Decoder:
    """One decoder state per leg; feed 8 kHz-clock payloads in media order, get 16 kHz PCM."""

    def __init__(self) -> None:
        self._codec = _new(16000)

    def decode(self, payload: bytes) -> NDArray[np.int16]:
        return np.asarray(self._codec.decode(payload), dtype=np.int16)


def encode_g722(samples: NDArray[np.int16]) -> bytes:
    """Encode 16 kHz int16 PCM to G.722 at 64 kbit/s (2 samples per byte)."""
    return bytes(_new(16000).encode(np.ascontiguousarray(samples, dtype=np.int16)))
