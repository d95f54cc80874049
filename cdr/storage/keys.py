"""Deterministic object keys of recordings: a retried upload overwrites its object, never adds a copy.

Pure (stdlib only): the sinks, the services and the HTTP edge compute the same keys. Changing any
of these functions would duplicate every stored object: they are a storage format.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date

_EXTENSIONS = {"sn3": "sn3", "stereo_pcm": "pcm"}
WAVEFORM_SUFFIX = ".waveform.svg"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def recording_call_dir(*, tenant_id: int, call_id: str, day: date) -> str:
    """``recordings/<tenant>/<yyyy>/<mm>/<dd>/<call>``; the hash keeps two sanitised ids apart."""
    safe = _UNSAFE.sub("_", call_id)[:80].strip("._") or "call"
    tag = hashlib.sha1(call_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"recordings/{tenant_id}/{day:%Y/%m/%d}/{safe}-{tag}"


def recording_key(*, tenant_id: int, call_id: str, day: date, sha256: str, fmt: str) -> str:
    """Deterministic key of an original: a retried upload overwrites it, never adds a copy."""
    ext = _EXTENSIONS.get(fmt) or _UNSAFE.sub("", fmt.lower())[:12] or "bin"
    return f"{recording_call_dir(tenant_id=tenant_id, call_id=call_id, day=day)}/{sha256}.{ext}"


def taps_key(*, tenant_id: int, call_id: str, day: date) -> str:
    """Key of the WAV built from a call's PCM taps (one per call)."""
    return f"{recording_call_dir(tenant_id=tenant_id, call_id=call_id, day=day)}/taps.wav"


def waveform_key(wav_key: str) -> str:
    """Where a WAV's rendered waveform is cached: next to it, under a key derived from it."""
    return f"{wav_key}{WAVEFORM_SUFFIX}"


def spool_name(*, call_id: str, sha256: str | None = None) -> str:
    tag = hashlib.sha1(call_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{sha256}-{tag}" if sha256 else f"taps-{tag}"
