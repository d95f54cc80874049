"""Request signing for /ingest/v1/ (stdlib only, so a client can copy it as it is).

Signature v2 (``X-CDR-Signature: v2=<hex>``) is hex HMAC-SHA256, keyed by the gateway's secret,
over these lines joined by ``\\n`` (no newline after the last)::

    CDR-HMAC-SHA256-V2
    METHOD
    PATH
    TIMESTAMP (unix seconds)
    SIGNED HEADER NAMES (lowercase, sorted, joined by ";": the X-CDR-Signed-Headers value)
    name:value      one line per signed header, in that order, the value without outer spaces
    hex SHA-256 of the body

PATH is the URL path percent-decoded, without the query string (``/ingest/v1/recordings/a@gw``).
A request must sign ``Content-Type`` and every ``X-CDR-*`` header it sends (the recording's
metadata: ``X-CDR-Tenant-Id``, ``X-CDR-Format`` ...), except the four of the signature itself
(``X-CDR-Key``, ``X-CDR-Timestamp``, ``X-CDR-Signature``, ``X-CDR-Signed-Headers``): a captured
request cannot be replayed with other metadata. A recording upload is streamed, so its body hash
is the signed ``X-CDR-Content-SHA256`` header.

Signature v1 (a bare hex ``X-CDR-Signature``, deprecated) covered only
``METHOD\\nPATH\\nTIMESTAMP\\nhex SHA-256 of the body``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence

KEY_HEADER = "X-CDR-Key"
TIMESTAMP_HEADER = "X-CDR-Timestamp"
SIGNATURE_HEADER = "X-CDR-Signature"
SIGNED_HEADERS_HEADER = "X-CDR-Signed-Headers"
SHA256_HEADER = "X-CDR-Content-SHA256"

V2 = "v2="  # the version marker, before the hex in X-CDR-Signature
V2_ALGORITHM = "CDR-HMAC-SHA256-V2"  # the canonical string's first line
_OWS = " \t"  # HTTP's optional white space around a value, which proxies and servers drop
# Parts of the signature itself: never listed in X-CDR-Signed-Headers.
SIGNATURE_OWN = frozenset(h.lower() for h in (KEY_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER, SIGNED_HEADERS_HEADER))


def must_sign(name: str) -> bool:
    """Whether a v2 request that sends the header ``name`` must sign it: the server acts on
    Content-Type and on X-CDR-* headers (a new X-CDR-* header is covered from its first use)."""
    low = name.lower()
    return low not in SIGNATURE_OWN and (low == "content-type" or low.startswith("x-cdr-"))


def canonical_v2(method: str, path: str, timestamp: str, headers: Sequence[tuple[str, str]], body_sha256: str) -> bytes:
    """``headers``: (lowercase name, value) of the signed headers, sorted by name."""
    lines = [
        V2_ALGORITHM,
        method.upper(),
        path,
        timestamp,
        ";".join(name for name, _ in headers),
        *(f"{name}:{value.strip(_OWS)}" for name, value in headers),
        body_sha256.lower(),
    ]
    return "\n".join(lines).encode()


def signature_v2(
    secret: str, method: str, path: str, timestamp: str, headers: Sequence[tuple[str, str]], body_sha256: str
) -> str:
    canonical = canonical_v2(method, path, timestamp, headers, body_sha256)
    return hmac.new(secret.encode(), canonical, hashlib.sha256).hexdigest()


def canonical_v1(method: str, path: str, timestamp: str, body_sha256: str) -> bytes:
    return f"{method.upper()}\n{path}\n{timestamp}\n{body_sha256.lower()}".encode()


def signature_v1(secret: str, method: str, path: str, timestamp: str, body_sha256: str) -> str:
    """Deprecated: accepted only within ``CDR_INGEST_SIGNATURE_V1_UNTIL``."""
    return hmac.new(secret.encode(), canonical_v1(method, path, timestamp, body_sha256), hashlib.sha256).hexdigest()


def signed_headers(
    key_id: str,
    secret: str,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    headers: Mapping[str, str] | None = None,
    timestamp: int | None = None,
    sha256: str | None = None,
) -> dict[str, str]:
    """Every header to send (``headers``, e.g. Content-Type and a recording's metadata, plus
    ``X-CDR-Content-SHA256`` and the signature's), signed v2 (``path`` percent-decoded, no query
    string). ``sha256``: the body's hex SHA-256 when the body is not at hand (a streamed file)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    sha = (hashlib.sha256(body).hexdigest() if sha256 is None else sha256).lower()
    out = {name: value for name, value in (headers or {}).items() if name.lower() != SHA256_HEADER.lower()}
    out[SHA256_HEADER] = sha
    signed = sorted((name.lower(), value) for name, value in out.items() if must_sign(name))
    out[KEY_HEADER] = key_id
    out[TIMESTAMP_HEADER] = ts
    out[SIGNED_HEADERS_HEADER] = ";".join(name for name, _ in signed)
    out[SIGNATURE_HEADER] = V2 + signature_v2(secret, method, path, ts, signed, sha)
    return out


def signature_matches(expected: str, given: str) -> bool:
    # Constant time: how long a comparison takes must not reveal how much of it matched.
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())
