"""/healthz and /readyz: the process answers; its dependencies answer. JSON, no authentication.

Answered, with /metrics, by a middleware placed first, before host validation, the HTTPS redirect
and the session: a kubelet, a scraper or the container's HEALTHCHECK reaches the pod by IP over plain
HTTP (the Host header is that IP), and a probe must not need the database to be told that the
database is down. Neither answer names
a tenant, a host or a credential: only which check failed (the reason is logged).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.db import connections
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

BROKER_TIMEOUT = 2.0  # seconds; a probe must answer well within the prober's own timeout


def database_check() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")


def broker_check() -> None:
    from project.celery import app

    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT)


def recordings_check() -> None:
    storage = storages["recordings"]
    if isinstance(storage, FileSystemStorage):
        # Created on first save, like the storage itself would; then it must be writable.
        location = Path(storage.location)
        location.mkdir(parents=True, exist_ok=True)
        if not os.access(location, os.W_OK | os.X_OK):
            raise PermissionError(f"{location} is not writable")
    else:
        storage.exists("readyz")  # one bounded request (the S3 client's timeouts)


def readiness_checks() -> dict[str, Callable[[], None]]:
    """What /readyz checks: the broker only when one is configured (not the in-process default)."""
    checks = {"database": database_check}
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        checks["broker"] = broker_check
    checks["recordings"] = recordings_check
    return checks


def readiness() -> tuple[bool, dict[str, str]]:
    results = {}
    for name, check in readiness_checks().items():
        try:
            check()
        except Exception:
            logger.warning("readyz: %s is down", name, exc_info=True)
            results[name] = "down"
        else:
            results[name] = "ok"
    return all(r == "ok" for r in results.values()), results


def _json(status: int, body: dict[str, object]) -> HttpResponse:
    response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


def healthz() -> HttpResponse:
    return _json(200, {"status": "ok"})


def readyz() -> HttpResponse:
    ready, checks = readiness()
    if ready:
        return _json(200, {"status": "ok", "checks": checks})
    down = [name for name, result in checks.items() if result != "ok"]
    return _json(503, {"status": "unavailable", "down": down, "checks": checks})


def _metrics(request: HttpRequest) -> HttpResponse:
    from project.metrics import metrics  # the ORM: loaded once the apps are, on the first scrape

    return metrics(request)


PROBES: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": lambda request: healthz(),
    "/readyz": lambda request: readyz(),
    "/metrics": _metrics,  # guarded by its own bearer token (project/metrics.py)
}


class ProbeMiddleware:
    """Answers GET/HEAD /healthz, /readyz and /metrics before anything else runs (no ``get_host()``,
    so no ALLOWED_HOSTS check; no HTTPS redirect); passes every other request on."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info.rstrip("/"))
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)
