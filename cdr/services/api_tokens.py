"""API token services: create (the key is returned once, never stored), revoke, authenticate."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from cdr.models import ApiToken

PREFIX_LENGTH = 8
# last_used_at is a hint for humans: written at most this often, not on every request.
_TOUCH_EVERY = timedelta(minutes=1)


class TokenInvalid(Exception):
    """The key is unknown or revoked; the message says which (safe to show the client)."""


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    key: str


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: Any, name: str = "") -> IssuedToken:
    key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=key[:PREFIX_LENGTH], key_hash=_hash(key))
    return IssuedToken(token=token, key=key)


def api_token_revoke(*, prefix: str) -> int:
    """Revoke every live token with this prefix; returns how many were revoked."""
    return ApiToken.objects.filter(prefix=prefix, revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_tokens_revoke(*, token_ids: list[int]) -> int:
    return ApiToken.objects.filter(pk__in=token_ids, revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_token_authenticate(*, key: str) -> ApiToken:
    digest = _hash(key)
    match = None
    for token in ApiToken.objects.select_related("user").filter(prefix=key[:PREFIX_LENGTH]):
        # Constant-time comparison: response timing must not reveal how much of a hash matched.
        if hmac.compare_digest(token.key_hash, digest):
            match = token
    if match is None:
        raise TokenInvalid("Invalid token.")
    if match.revoked_at is not None:
        raise TokenInvalid("Token revoked.")
    if not match.user.is_active:
        raise TokenInvalid("User inactive.")
    now = timezone.now()
    if match.last_used_at is None or now - match.last_used_at > _TOUCH_EVERY:
        ApiToken.objects.filter(pk=match.pk).update(last_used_at=now)
        match.last_used_at = now
    return match
