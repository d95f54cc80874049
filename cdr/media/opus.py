"""Opus through libopus (ctypes): one decoder per leg with packet-loss concealment.

The library is looked up as ``$CDR_LIBOPUS``, then the system ``libopus`` (Debian ``libopus0``),
then the copy bundled in the PyAV wheel (``av.libs/libopus-*.so*``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import importlib.util
import os
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from cdr.media.errors import CodecUnavailableError

OPUS_RATE = 48000
_MAX_FRAME = 5760  # 120 ms at 48 kHz
_APPLICATION_VOIP = 2048


def _candidates() -> list[str]:
    found: list[str] = []
    env = os.environ.get("CDR_LIBOPUS")
    if env:
        found.append(env)
    system = ctypes.util.find_library("opus")
    if system:
        found.append(system)
    spec = importlib.util.find_spec("av")
    if spec is not None and spec.origin:
        libs = Path(spec.origin).parent.parent / "av.libs"
        found.extend(str(p) for p in sorted(libs.glob("libopus*.so*")))
    return found


@functools.cache
def _lib() -> ctypes.CDLL:
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
            lib.opus_decoder_create  # noqa: B018  # probe the symbol
        except (OSError, AttributeError):
            continue
        lib.opus_decoder_create.restype = ctypes.c_void_p
        lib.opus_decoder_create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
        lib.opus_decode.restype = ctypes.c_int
        lib.opus_decode.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_int32,
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_int,
        ]
        lib.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
        lib.opus_packet_get_nb_samples.restype = ctypes.c_int
        lib.opus_packet_get_nb_samples.argtypes = [ctypes.c_char_p, ctypes.c_int32, ctypes.c_int32]
        lib.opus_encoder_create.restype = ctypes.c_void_p
        lib.opus_encoder_create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
        lib.opus_encode.restype = ctypes.c_int32
        lib.opus_encode.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int32]
        lib.opus_encoder_destroy.argtypes = [ctypes.c_void_p]
        return lib
    raise CodecUnavailableError("opus decoding needs libopus (Debian libopus0, or the av package)")


def available() -> bool:
    try:
        _lib()
    except CodecUnavailableError:
        return False
    return True


def packet_samples(payload: bytes) -> int:
    """Samples (48 kHz) in an Opus packet, 0 if the packet is invalid."""
    if not payload:
        return 0
    n = int(_lib().opus_packet_get_nb_samples(payload, len(payload), OPUS_RATE))
    return n if 0 < n <= _MAX_FRAME else 0


class OpusDecoder:
    """Mono 48 kHz libopus decoder; ``decode(None, n)`` conceals a lost packet of n samples."""

    def __init__(self) -> None:
        lib = _lib()
        err = ctypes.c_int(0)
        state = lib.opus_decoder_create(OPUS_RATE, 1, ctypes.byref(err))
        if err.value != 0 or not state:
            raise CodecUnavailableError(f"opus_decoder_create failed ({err.value})")
        self._lib = lib
        self._state: int | None = state
        self._pcm = np.zeros(_MAX_FRAME, dtype=np.int16)

    def decode(self, payload: bytes | None, conceal_samples: int = 960) -> NDArray[np.int16]:
        """Decode one packet (empty result if it is corrupt); None conceals a lost packet."""
        if self._state is None:
            raise ValueError("decoder closed")
        if payload is None:
            n = self._lib.opus_decode(self._state, None, 0, self._pcm.ctypes.data, min(conceal_samples, _MAX_FRAME), 0)
        else:
            n = self._lib.opus_decode(self._state, payload, len(payload), self._pcm.ctypes.data, _MAX_FRAME, 0)
        return self._pcm[: max(n, 0)].copy()

    def close(self) -> None:
        if self._state is not None:
            self._lib.opus_decoder_destroy(self._state)
            self._state = None

    def __del__(self) -> None:
        self.close()


def encode_opus(samples: NDArray[np.int16], frame_samples: int = 960) -> list[bytes]:
    """Encode 48 kHz mono int16 PCM into Opus packets of ``frame_samples`` (for tests)."""
    lib = _lib()
    err = ctypes.c_int(0)
    state = lib.opus_encoder_create(OPUS_RATE, 1, _APPLICATION_VOIP, ctypes.byref(err))
    if err.value != 0 or not state:
        raise CodecUnavailableError(f"opus_encoder_create failed ({err.value})")
    try:
        pcm = np.ascontiguousarray(samples, dtype=np.int16)
        pad = (-pcm.size) % frame_samples
        pcm = np.concatenate([pcm, np.zeros(pad, dtype=np.int16)])
        out = ctypes.create_string_buffer(4000)
        packets: list[bytes] = []
        for start in range(0, pcm.size, frame_samples):
            chunk = np.ascontiguousarray(pcm[start : start + frame_samples])
            n = lib.opus_encode(state, chunk.ctypes.data, frame_samples, out, 4000)
            if n < 0:
                raise CodecUnavailableError(f"opus_encode failed ({n})")
            packets.append(out.raw[:n])
        return packets
    finally:
        lib.opus_encoder_destroy(state)
