"""The embedded default's SECRET_KEY: random per installation, kept in the var dir, reused across restarts.

Production (DJANGO_DEBUG=0) takes DJANGO_SECRET_KEY from the environment instead. No key is ever
written in the source: one there would let anyone who reads it sign playback links and session
cookies of every default install, and the gateway secrets' encryption key derives from it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def installation_secret_key(path: Path) -> str:
    """The key stored at ``path``, created (mode 0600) on first use.

    Processes starting together (web, worker, the demo's threads) agree on one key: each writes a
    candidate to its own temporary file and hard-links it into place, which fails if another won.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        candidate = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, (secrets.token_urlsafe(50) + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(candidate, path)
        except FileExistsError:
            pass
        finally:
            candidate.unlink()
    key = path.read_text().strip()
    if len(key) < 50:
        raise ImproperlyConfigured(f"{path} holds no usable secret key: delete it to have a new one made.")
    return key
