"""Request middleware of the app (add to MIDDLEWARE after the authentication middleware).

``ReplicaReadsMiddleware``: the listed read-only views read a fit read replica (cdr.db.replicas).
A replica that stopped since its last check fails the view's read with an OperationalError or
InterfaceError: ``process_exception`` marks it down and answers a placeholder (so nothing logs a
500), and the request, read-only by construction, runs again once on the primary. A streamed
export that has begun cannot be taken back: its body ends early (the client sees a cut stream).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import Resolver404, resolve

from cdr.conf import cdr_setting
from cdr.db.replicas import primary_reads, reading_from, replica_down, replica_reads

STICKY_COOKIE = "cdr_primary_until"


def _listed(request: HttpRequest) -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    if match.view_name not in cdr_setting("CDR_READ_REPLICAS")["VIEWS"]:
        return False
    # The change feed's settle window assumes it sees each commit at once: the primary.
    return not (match.view_name == "cdr-api:call-list" and request.GET.get("order") == "updated")


class ReplicaReadsMiddleware:
    """Listed read-only views read a fit replica; a client that just wrote reads the primary."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not cdr_setting("CDR_READ_REPLICAS")["ALIASES"]:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            response = self.get_response(request)
            sticky = float(cdr_setting("CDR_READ_REPLICAS")["STICKY_SECONDS"])
            response.set_cookie(STICKY_COOKIE, str(int(time.time() + sticky)), max_age=int(sticky) + 1, httponly=True)
            return response
        if not _listed(request) or _sticky(request):
            return self.get_response(request)
        with replica_reads() as alias:
            response = self.get_response(request)
        if response is _retry_marker(request):
            with primary_reads():
                return self.get_response(request)
        if alias is not None:
            response["X-CDR-Read-From"] = "replica"
            if isinstance(response, StreamingHttpResponse):
                # The body is read from the database after this returns: keep it on the same replica.
                response.streaming_content = _on(alias, response.streaming_content)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A read on the replica failed: mark it down and have ``__call__`` run the request again."""
        alias = reading_from()
        if alias is None or not isinstance(exception, OperationalError | InterfaceError):
            return None
        if getattr(request, _RETRY, None) is not None:
            return None  # once
        replica_down(alias, exception)
        marker = HttpResponse(status=503)
        setattr(request, _RETRY, marker)
        return marker


_RETRY = "_cdr_replica_retry"


def _retry_marker(request: HttpRequest) -> HttpResponse | None:
    return getattr(request, _RETRY, None)


def _sticky(request: HttpRequest) -> bool:
    try:
        return float(request.COOKIES.get(STICKY_COOKIE, 0)) > time.time()
    except ValueError:
        return False


def _on(alias: str, chunks: Any) -> Iterator[Any]:
    with replica_reads(alias):
        try:
            yield from chunks
        except (OperationalError, InterfaceError) as exc:
            replica_down(alias, exc)  # too late for this body; the next requests read the primary
            raise
