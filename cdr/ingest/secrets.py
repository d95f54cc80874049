"""Gateway secrets at rest: Fernet-encrypted, because verifying an HMAC needs the secret itself.

A database dump alone does not reveal them; the key is derived from CDR_INGEST["SECRET_KEY"]
(CDR_GATEWAY_SECRET_KEY, else Django's SECRET_KEY).
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken


def _fernet() -> Fernet:
    from django.conf import settings

    material = hashlib.sha256(b"cdr-gateway-secrets\0" + str(settings.CDR_INGEST["SECRET_KEY"]).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(material))


def secret_encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def secret_decrypt(token: str) -> str | None:
    """None when the stored value cannot be decrypted (the key changed since it was issued)."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return None
