"""DRF authentication for /ingest/v1/: an HMAC-signed request from a registered gateway."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from cdr.conf import cdr_setting
from cdr.db.queries import DATABASE_UNREACHABLE
from cdr.ingest.deprecated import signature_v1_used
from cdr.ingest.signing import (
    KEY_HEADER,
    SHA256_HEADER,
    SIGNATURE_HEADER,
    SIGNATURE_OWN,
    SIGNED_HEADERS_HEADER,
    TIMESTAMP_HEADER,
    V2,
    must_sign,
    signature_matches,
    signature_v1,
    signature_v2,
)
from cdr.models import Gateway
from cdr.services.gateways import secret_decrypt

log = logging.getLogger("cdr.ingest")

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
RETRY_AFTER_SECONDS = 5  # what a 503 asks the gateway to wait before posting again
_CHUNK = 64 * 1024
# last_seen_at is a hint for humans: written at most this often, not on every request.
_TOUCH_EVERY = timedelta(minutes=1)


class GatewayUnauthorized(Exception):
    """The request is not from a live gateway; the message says why (safe to show the client)."""


# A signed header's value: visible ASCII and spaces (what a client and the server encode alike).
_HEADER_VALUE = re.compile(r"^[\x20-\x7e]*$")
UPGRADE = "sign with v2 (docs/ingest.md, Signing a request)"


def signed_header_values(headers: Mapping[str, str], listed: str) -> list[tuple[str, str]]:
    """(name, value) of the headers ``X-CDR-Signed-Headers`` lists, or GatewayUnauthorized: the list
    must be canonical, name only headers that were sent, and name every one the server acts on."""
    names = listed.split(";") if listed.strip() else []
    if names != sorted(set(names)) or any(not name or name != name.strip().lower() for name in names):
        raise GatewayUnauthorized(f"{SIGNED_HEADERS_HEADER}: expected lowercase header names, sorted, joined by ';'")
    own = sorted(SIGNATURE_OWN.intersection(names))
    if own:
        raise GatewayUnauthorized(f"{SIGNED_HEADERS_HEADER}: {', '.join(own)} is part of the signature, not signed")
    missing = [name for name in names if headers.get(name) is None]
    if missing:
        raise GatewayUnauthorized(f"{SIGNED_HEADERS_HEADER}: lists {', '.join(missing)}, not sent")
    unsigned = sorted({name.lower() for name in headers if must_sign(name)} - set(names))
    if unsigned:
        raise GatewayUnauthorized(
            f"{SIGNED_HEADERS_HEADER}: {', '.join(unsigned)} sent but not signed "
            "(Content-Type and every X-CDR-* header must be)"
        )
    values = [(name, headers[name]) for name in names]
    bad = [name for name, value in values if not _HEADER_VALUE.match(value)]
    if bad:
        raise GatewayUnauthorized(f"{SIGNED_HEADERS_HEADER}: {', '.join(bad)}: a signed value must be printable ASCII")
    return values


def signature_v1_until() -> date | None:
    """The last day (UTC) a v1 signature is accepted, None once none is (cdr.checks validates it)."""
    until = (cdr_setting("CDR_INGEST")["SIGNATURE_V1_UNTIL"] or "").strip()
    return None if until.lower() in ("", "off") else date.fromisoformat(until)


def gateway_authenticate(
    *,
    key_id: str,
    timestamp: str,
    given: str,
    method: str,
    path: str,
    body_sha256: str,
    headers: Mapping[str, str],
) -> Gateway:
    """The gateway that signed this request, or GatewayUnauthorized naming the header at fault.

    ``headers``: the request's, for v2's signed headers (``X-CDR-Signed-Headers``)."""
    if not key_id:
        raise GatewayUnauthorized(f"{KEY_HEADER}: missing")
    if not given:
        raise GatewayUnauthorized(f"{SIGNATURE_HEADER}: missing")
    given = given.strip()
    v2 = given.startswith(V2)
    if v2:
        given = given.removeprefix(V2)
    if not _SHA256.match(given):
        raise GatewayUnauthorized(f"{SIGNATURE_HEADER}: expected v2=<hex HMAC-SHA256> (or v1's bare hex)")
    # Digits only, and a length a float holds exactly (int() would take 4,300 digits, "+1", " 1 ").
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise GatewayUnauthorized(f"{TIMESTAMP_HEADER}: expected unix seconds")
    stamp = int(timestamp)
    window = cdr_setting("CDR_INGEST")["REPLAY_SECONDS"]
    if abs(time.time() - stamp) > window:
        raise GatewayUnauthorized(f"{TIMESTAMP_HEADER}: outside the {window} s window (check the gateway's clock)")
    signed = signed_header_values(headers, headers.get(SIGNED_HEADERS_HEADER, "")) if v2 else []
    gateway = Gateway.objects.filter(key_id=key_id[:32]).first()
    if gateway is None:
        raise GatewayUnauthorized(f"{KEY_HEADER}: unknown key")
    secret = secret_decrypt(gateway.secret_encrypted)
    if v2:
        expected = signature_v2(secret or "", method, path, timestamp, signed, body_sha256)
        covers = "v2: method, path, timestamp, signed headers, body SHA-256"
    else:
        expected = signature_v1(secret or "", method, path, timestamp, body_sha256)
        covers = "v1: method, path, timestamp, body SHA-256"
    authentic = secret is not None and signature_matches(expected, given)
    if not v2:
        until = signature_v1_until()
        if until is None or timezone.now().date() > until:
            if authentic:  # only the gateway's own requests are logged and counted against it
                signature_v1_used(gateway, refused=True)
            since = f"since {until + timedelta(days=1)}" if until else "on this server"
            raise GatewayUnauthorized(f"{SIGNATURE_HEADER}: v1 signatures are no longer accepted ({since}): {UPGRADE}")
    if not authentic:
        raise GatewayUnauthorized(f"{SIGNATURE_HEADER}: does not match ({covers})")
    if not v2:
        signature_v1_used(gateway, refused=False)
    if not gateway.active:
        return gateway  # authentic, but the permission check answers 403 "revoked"
    now = timezone.now()
    if gateway.last_seen_at is None or now - gateway.last_seen_at > _TOUCH_EVERY:
        Gateway.objects.filter(pk=gateway.pk).update(last_seen_at=now)
        gateway.last_seen_at = now
    return gateway


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "body: too large"
    default_code = "too_large"


class Unavailable(exceptions.APIException):
    """503 with Retry-After: the database could not be asked who signed the request."""

    status_code = 503
    default_detail = "database or storage unavailable: nothing was accepted, post again"
    default_code = "unavailable"

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.wait = retry_after  # DRF's exception handler sends it as Retry-After


class BadRequest(exceptions.APIException):
    """400 with ``{parameter: reason}``, strings as they are (ValidationError would wrap them in lists)."""

    status_code = 400
    default_code = "invalid"

    def __init__(self, parameter: str, reason: str) -> None:
        super().__init__({parameter: reason})


class GatewayPrincipal:
    """``request.user`` for a gateway: authenticated, never a Django user."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def __str__(self) -> str:
        return f"gateway {self.gateway.name}"


def content_length(request: Any) -> int | None:
    try:
        value = int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    return value if value >= 0 else None


def _chunked(request: Any) -> bool:
    return content_length(request) is None and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()


def body_unreadable(request: Any) -> bool:
    """A chunked body (Transfer-Encoding: chunked, no Content-Length) the server hands over undecoded.

    A WSGI server that de-chunks says so with ``wsgi.input_terminated`` (gunicorn, mod_wsgi): its
    ``wsgi.input`` ends with the body. Django's runserver (wsgiref) does not de-chunk: there the body
    cannot be read, and ``request.read()`` would give b"" (an empty body, a wrong signature).
    """
    return _chunked(request) and "wsgi.input" in request.META and not request.META.get("wsgi.input_terminated")


def body_stream(request: Any) -> Any:
    """What to read the body from: the request, or for a de-chunked body without Content-Length the
    server's ``wsgi.input`` (Django limits ``request.read()`` to CONTENT_LENGTH, i.e. to 0 bytes)."""
    if _chunked(request) and request.META.get("wsgi.input_terminated"):
        return request.META["wsgi.input"]
    return request


def body_read(request: Any, cap: int) -> bytes:
    """The whole body, or 413 past ``cap`` bytes (checked before reading when the length is declared)."""
    declared = content_length(request)
    if declared is not None and declared > cap:
        raise PayloadTooLarge(f"body: {declared} bytes, more than the {cap} allowed")
    chunks, size, stream = [], 0, body_stream(request)
    while chunk := stream.read(_CHUNK):
        size += len(chunk)
        if size > cap:
            raise PayloadTooLarge(f"body: more than the {cap} bytes allowed")
        chunks.append(chunk)
    return b"".join(chunks)


class GatewaySignatureAuthentication(authentication.BaseAuthentication):
    """``body_cap``: read and hash the body here (kept as ``request.cdr_body``); ``None``: the body is
    streamed by the view, and the signature covers the ``X-CDR-Content-SHA256`` header it verifies."""

    def __init__(self, *, body_cap: int | None) -> None:
        self.body_cap = body_cap

    def authenticate(self, request: Any) -> tuple[GatewayPrincipal, Gateway]:
        raw = request._request
        headers = raw.headers
        if self.body_cap is not None:
            body = body_read(raw, self.body_cap)
            raw.cdr_body = body
            body_sha = hashlib.sha256(body).hexdigest()
        else:
            body_sha = headers.get(SHA256_HEADER, "")
            if not _SHA256.match(body_sha):
                raise exceptions.AuthenticationFailed(f"{SHA256_HEADER}: expected the body's hex SHA-256")
        try:
            gateway = gateway_authenticate(
                key_id=headers.get(KEY_HEADER, ""),
                timestamp=headers.get(TIMESTAMP_HEADER, ""),
                given=headers.get(SIGNATURE_HEADER, ""),
                method=raw.method,
                path=raw.path,
                body_sha256=body_sha,
                headers=headers,
            )
        except GatewayUnauthorized as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        except DATABASE_UNREACHABLE as exc:  # the gateway lookup is the request's first query
            log.warning("ingestion unavailable: %s", exc)
            raise Unavailable(RETRY_AFTER_SECONDS) from None
        return GatewayPrincipal(gateway), gateway

    def authenticate_header(self, request: Any) -> str:
        # Present so DRF answers 401 (with WWW-Authenticate), not 403, to a missing signature.
        return 'CDR-HMAC-SHA256 realm="ingest"'


class IsActiveGateway(permissions.BasePermission):
    message = f"{KEY_HEADER}: gateway revoked"

    def has_permission(self, request: Any, view: Any) -> bool:
        return isinstance(request.auth, Gateway) and request.auth.active


class GatewaySignatureScheme(OpenApiAuthenticationExtension):
    target_class = GatewaySignatureAuthentication
    name = "gatewaySignature"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": SIGNATURE_HEADER,
            "description": (
                "'v2=' then the hex HMAC-SHA256 with the gateway's secret over "
                "'CDR-HMAC-SHA256-V2\\nMETHOD\\nPATH\\nTIMESTAMP\\nSIGNED-HEADERS\\nname:value (one line per signed "
                "header)\\nhex SHA-256 of the body' (docs/ingest.md); "
                f"also send {KEY_HEADER} (key id), {TIMESTAMP_HEADER} (unix seconds, within the replay window) and "
                f"{SIGNED_HEADERS_HEADER} (the signed headers' lowercase names, sorted, joined by ';': Content-Type "
                "and every X-CDR-* header sent). "
                "Gateways: manage.py cdr_gateway create."
            ),
        }
