"""Request signing for /ingest/v1/ (stdlib only, so a client can copy it as it is).

The signature is hex HMAC-SHA256, keyed by the gateway's secret, over four lines::

    METHOD \\n PATH \\n TIMESTAMP (unix seconds) \\n hex SHA-256 of the body

PATH is the URL path percent-decoded, without the query string (``/ingest/v1/recordings/a@gw``).
The signature is sent as ``X-CDR-Signature`` with ``X-CDR-Key`` (the gateway's key id) and
``X-CDR-Timestamp``; a recording upload also signs (and sends) ``X-CDR-Content-SHA256``.
"""

from __future__ import annotations

import hashlib
import hmac
import time

KEY_HEADER = "X-CDR-Key"
TIMESTAMP_HEADER = "X-CDR-Timestamp"
SIGNATURE_HEADER = "X-CDR-Signature"
SHA256_HEADER = "X-CDR-Content-SHA256"


def canonical(method: str, path: str, timestamp: str, body_sha256: str) -> bytes:
    return f"{method.upper()}\n{path}\n{timestamp}\n{body_sha256.lower()}".encode()


def signature(secret: str, method: str, path: str, timestamp: str, body_sha256: str) -> str:
    return hmac.new(secret.encode(), canonical(method, path, timestamp, body_sha256), hashlib.sha256).hexdigest()


def signed_headers(
    key_id: str, secret: str, method: str, path: str, body: bytes, *, timestamp: int | None = None
) -> dict[str, str]:
    """The headers a client adds to a request (``path`` percent-decoded, no query string)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    sha = hashlib.sha256(body).hexdigest()
    return {
        KEY_HEADER: key_id,
        TIMESTAMP_HEADER: ts,
        SIGNATURE_HEADER: signature(secret, method, path, ts, sha),
        SHA256_HEADER: sha,
    }


def signature_matches(expected: str, given: str) -> bool:
    # Constant time: how long a comparison takes must not reveal how much of it matched.
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())
