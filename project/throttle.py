"""Admin login throttling (django-axes): a (username, client address) pair that fails too often waits.

Locking the pair, not the user alone, keeps a guesser from locking staff out from elsewhere; the
failures are kept in the database, so every web process counts the same ones.
https://django-axes.readthedocs.io/en/latest/4_configuration.html
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.http import HttpRequest


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' check, for logins that come with a request (every login over HTTP does).

    A login without one (the test client's ``login()``, a shell) is not an attack over the network,
    and axes would refuse it outright.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> None:
        if request is not None:
            super().authenticate(request, username, password, **kwargs)


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or behind the TLS proxy (DJANGO_HTTPS=1) the address that
    proxy appended to X-Forwarded-For (the last entry: the ones before it are the client's say)."""
    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if forwarded:
            return str(forwarded[-1])
    return str(request.META.get("REMOTE_ADDR", ""))
