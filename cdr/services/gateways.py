"""Gateway credentials: create (the secret is returned once), revoke; their secrets at rest.

Secrets are Fernet-encrypted, because verifying an HMAC needs the secret itself: a database dump
alone does not reveal them; the key is derived from CDR_INGEST["SECRET_KEY"]
(CDR_GATEWAY_SECRET_KEY, else Django's SECRET_KEY). Authenticating a signed request is the HTTP
edge's (``cdr.ingest.auth``).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from django.db import transaction
from django.utils import timezone

from cdr.conf import cdr_setting
from cdr.models import Gateway

_U64 = 1 << 64


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


def _fernet() -> Fernet:
    material = hashlib.sha256(b"cdr-gateway-secrets\0" + str(cdr_setting("CDR_INGEST")["SECRET_KEY"]).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(material))


def secret_encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def secret_decrypt(token: str) -> str | None:
    """None when the stored value cannot be decrypted (the key changed since it was issued)."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return None
