"""Names a recording is downloaded under: ``<call-id>_<local start>.<ext>``, safe on every system.

Call-IDs carry ``@``, ``/``, ``%``, spaces and quotes. The header gets two forms (RFC 6266): a plain
ASCII ``filename`` with every other character replaced, and ``filename*``, the UTF-8 name with only
what no file system accepts replaced, for the clients that read it. Stdlib only.
"""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import quote

_ASCII_UNSAFE = re.compile(r"[^A-Za-z0-9@._+-]+")
# Path separators, what Windows refuses, and control characters; the rest survives in filename*.
_FS_UNSAFE = re.compile(r'[/\\:*?"<>|\x00-\x1f\x7f]+')
_CALL_ID_CHARS = 120


def download_filename(*, call_id: str, started: datetime, ext: str) -> str:
    """``<call-id>_<YYYY-MM-DD_HH-MM-SS>.<ext>`` with ``started`` already in the tenant's zone; the
    name may hold any Unicode but no separator or control character (see ``ascii_filename``)."""
    safe = _FS_UNSAFE.sub("_", call_id)[:_CALL_ID_CHARS].strip(" ._") or "call"
    return f"{safe}_{started:%Y-%m-%d_%H-%M-%S}.{ext}"


def ascii_filename(name: str) -> str:
    """The plain ``filename=``: letters, digits and ``@._+-`` only; never starts with a dot."""
    return re.sub("_{2,}", "_", _ASCII_UNSAFE.sub("_", name)).lstrip(".") or "recording"


def content_disposition(name: str, *, attachment: bool) -> str:
    """``attachment; filename="..."; filename*=UTF-8''...`` (or ``inline``) for ``name``."""
    kind = "attachment" if attachment else "inline"
    return f"{kind}; filename=\"{ascii_filename(name)}\"; filename*=UTF-8''{quote(name, safe='')}"
