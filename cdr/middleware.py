"""Request middleware of the app (add to MIDDLEWARE after the authentication middleware).

``ReplicaReadsMiddleware``: the listed read-only views read a fit read replica (cdr.db.replicas).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import Resolver404, resolve

from cdr.conf import cdr_setting
from cdr.db.replicas import replica_reads

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
        if alias is not None:
            response["X-CDR-Read-From"] = "replica"
            if isinstance(response, StreamingHttpResponse):
                # The body is read from the database after this returns: keep it on the same replica.
                response.streaming_content = _on(alias, response.streaming_content)
        return response


def _sticky(request: HttpRequest) -> bool:
    try:
        return float(request.COOKIES.get(STICKY_COOKIE, 0)) > time.time()
    except ValueError:
        return False


def _on(alias: str, chunks: Any) -> Iterator[Any]:
    with replica_reads(alias):
        yield from chunks
