"""Gateway credentials: create (the secret is returned once), revoke, authenticate a signed request."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cdr.ingest.secrets import secret_decrypt, secret_encrypt
from cdr.ingest.signing import signature, signature_matches
from cdr.models import Gateway

_U64 = 1 << 64
# last_seen_at is a hint for humans: written at most this often, not on every request.
_TOUCH_EVERY = timedelta(minutes=1)


class GatewayUnauthorized(Exception):
    """The request is not from a live gateway; the message says why (safe to show the client)."""


@dataclass(frozen=True)
class IssuedGateway:
    gateway: Gateway
    secret: str


def tenant_ids_clean(values: list[int] | tuple[int, ...]) -> list[int]:
    out = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _U64:
            raise ValueError(f"tenant id {value!r} is not an unsigned 64-bit integer")
        out.append(value)
    return sorted(set(out))


@transaction.atomic
def gateway_create(*, name: str, tenant_ids: list[int]) -> IssuedGateway:
    secret = secrets.token_urlsafe(32)
    gateway = Gateway.objects.create(
        name=name,
        key_id="gw_" + secrets.token_hex(8),
        secret_encrypted=secret_encrypt(secret),
        tenant_ids=tenant_ids_clean(tenant_ids),
    )
    return IssuedGateway(gateway=gateway, secret=secret)


def gateways_revoke(*, gateway_ids: list[int]) -> int:
    return Gateway.objects.filter(pk__in=gateway_ids, active=True).update(active=False, revoked_at=timezone.now())


def gateway_revoke(*, key_id_or_name: str) -> int:
    ids = list(Gateway.objects.filter(key_id=key_id_or_name).values_list("pk", flat=True)) or list(
        Gateway.objects.filter(name=key_id_or_name).values_list("pk", flat=True)
    )
    return gateways_revoke(gateway_ids=ids)


def gateway_authenticate(
    *, key_id: str, timestamp: str, given: str, method: str, path: str, body_sha256: str
) -> Gateway:
    """The gateway that signed this request, or GatewayUnauthorized naming the header at fault."""
    if not key_id:
        raise GatewayUnauthorized("X-CDR-Key: missing")
    if not given:
        raise GatewayUnauthorized("X-CDR-Signature: missing")
    # Digits only, and a length a float holds exactly (int() would take 4,300 digits, "+1", " 1 ").
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise GatewayUnauthorized("X-CDR-Timestamp: expected unix seconds")
    stamp = int(timestamp)
    window = settings.CDR_INGEST["REPLAY_SECONDS"]
    if abs(time.time() - stamp) > window:
        raise GatewayUnauthorized(f"X-CDR-Timestamp: outside the {window} s window (check the gateway's clock)")
    gateway = Gateway.objects.filter(key_id=key_id[:32]).first()
    if gateway is None:
        raise GatewayUnauthorized("X-CDR-Key: unknown key")
    secret = secret_decrypt(gateway.secret_encrypted)
    expected = signature(secret or "", method, path, timestamp, body_sha256)
    if secret is None or not signature_matches(expected, given):
        raise GatewayUnauthorized("X-CDR-Signature: does not match (method, path, timestamp, body SHA-256)")
    if not gateway.active:
        return gateway  # authentic, but the permission check answers 403 "revoked"
    now = timezone.now()
    if gateway.last_seen_at is None or now - gateway.last_seen_at > _TOUCH_EVERY:
        Gateway.objects.filter(pk=gateway.pk).update(last_seen_at=now)
        gateway.last_seen_at = now
    return gateway
