"""Signature v1's deprecation window: every v1 request is logged (a WARNING per gateway at most
every ``LOG_EVERY_SECONDS``, with the count since the last one) and announced to counters."""

from __future__ import annotations

import logging
import threading
import time

from django.dispatch import Signal

from cdr.metrics import SIGNATURE_V1
from cdr.models import Gateway

log = logging.getLogger("cdr.ingest")

# Sent for every authentic v1 request, accepted (within CDR_INGEST_SIGNATURE_V1_UNTIL) or refused
# (after it), with ``gateway`` (its name) and ``refused``: the hook a metrics counter connects to.
signature_v1 = Signal()

LOG_EVERY_SECONDS = 600.0
_lock = threading.Lock()
_last: dict[int, tuple[float, int]] = {}  # gateway id -> (monotonic time of its last line, uses since)


def signature_v1_used(gateway: Gateway, *, refused: bool) -> None:
    signature_v1.send(sender=Gateway, gateway=gateway.name, refused=refused)
    SIGNATURE_V1.labels(gateway=gateway.name, refused=str(refused).lower()).inc()
    now = time.monotonic()
    with _lock:
        logged_at, since = _last.get(gateway.pk, (float("-inf"), 0))
        since += 1
        if now - logged_at < LOG_EVERY_SECONDS:
            _last[gateway.pk] = (logged_at, since)
            return
        _last[gateway.pk] = (now, 0)
    log.warning(
        "gateway %s (key %s) signs with v1: %s (%d v1 request%s since the last warning); sign with v2",
        gateway.name,
        gateway.key_id,
        "refused, the deprecation window is over" if refused else "accepted during the deprecation window",
        since,
        "" if since == 1 else "s",
    )


def signature_v1_log_reset() -> None:
    """Forget when each gateway was last logged (tests)."""
    with _lock:
        _last.clear()
