"""The app's own settings: every ``CDR_*`` value with its default, merged with the project's.

A project that installs ``cdr`` defines none of these unless it wants another value; a dict
setting may give only the keys it changes (``CDR_RECORDINGS = {"LINK_SECONDS": 60}``). The system
checks (``cdr.checks``) validate every value at start-up and fail on a key the app does not know,
so a typo is an error, not a silently ignored value. Read them through ``cdr_setting``, which
merges on each call (a few microseconds) so ``override_settings`` in tests takes effect at once.

The pattern is django-storages' ``get_default_settings`` and Wazo's ``_DEFAULT_CONFIG``: one
place owned by the library holds every option and its default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

# Computed defaults: resolved against the project's other settings when read.
_FROM_SPOOL_DIR = object()
_FROM_SECRET_KEY = object()

DEFAULTS: dict[str, Any] = {
    # Durable local buffers: the lifecycle sink's outbox and recordings waiting for storage.
    # Relative paths are relative to the working directory; a deployment sets an absolute one.
    "CDR_SPOOL_DIR": Path("var/spool"),
    # A call still ringing after this many seconds, or established after CDR_ESTABLISHED_TIMEOUT,
    # is closed by the periodic `cdr.calls_expire` task with status "expired".
    "CDR_RINGING_TIMEOUT": 600,
    "CDR_ESTABLISHED_TIMEOUT": 12 * 3600,
    # Batch confirmations are kept this long: longer than any sink waits to confirm a batch.
    "CDR_INGESTED_BATCH_DAYS": 7,
    # The API's change feed (order=updated) holds back rows written in the last N seconds: a row's
    # updated_at is stamped before its transaction commits (keep N above the longest write
    # transaction plus clock skew between the hosts that write).
    "CDR_API_CHANGES_SETTLE_SECONDS": 10,
    "CDR_LIFECYCLE_SINK": {
        "BUFFER_EVENTS": 200_000,
        # Up to BATCH_EVENTS per task, shipped at least every FLUSH_SECONDS (bench/ingest.py).
        "BATCH_EVENTS": 1000,
        "FLUSH_SECONDS": 0.1,
        "SPOOL_MAX_EVENTS": 5_000_000,
        # Every broker call of the sink's thread and of the drain nudge is bounded by this.
        "PUBLISH_TIMEOUT": 0.5,
        # A published batch not committed after this long is published again (lost in transit).
        "REDELIVER_SECONDS": 60.0,
    },
    "CDR_RECORDINGS": {
        # Lifetime of a playback/download link (presigned URL or signed view), in seconds.
        "LINK_SECONDS": 300,
        # How long finish_recording waits for storage before it spools and returns the key.
        "FINISH_TIMEOUT": 5.0,
        # Tenant policies are read at every begin_recording: cached this long per process.
        "POLICY_CACHE_SECONDS": 30,
        # PCM taps kept in memory per channel before they spill to a temp file.
        "TAP_MEMORY_BYTES": 256 * 1024,
        "UPLOAD_THREADS": 4,
        "SNAP_MS": 80,
        # Default: CDR_SPOOL_DIR / "recordings".
        "SPOOL_DIR": _FROM_SPOOL_DIR,
    },
    "CDR_INGEST": {
        "MAX_EVENTS": 1000,
        "MAX_BODY_BYTES": 4 * 1024 * 1024,
        "MAX_RECORDING_BYTES": 64 * 1024 * 1024,
        # A signed request is valid this many seconds either side of its timestamp; a replay inside
        # the window is only a re-post, which idempotency makes harmless.
        "REPLAY_SECONDS": 300,
        # Accepted event ids are remembered this long to answer "duplicate" to a re-post.
        "EVENT_ID_DAYS": 7,
        # Signature v1 (no signed headers: a recording's metadata could be replayed changed) is
        # accepted through this day (UTC, YYYY-MM-DD), each use logged; "" or "off": refused (401
        # "sign with v2"). Set it earlier, or "off", once no gateway logs a v1 request any more.
        "SIGNATURE_V1_UNTIL": "2027-06-30",
        # Gateway secrets are stored encrypted with a key derived from this (default: SECRET_KEY,
        # so rotating SECRET_KEY then needs new gateway secrets).
        "SECRET_KEY": _FROM_SECRET_KEY,
    },
    # Read replicas (cdr.db.replicas): database aliases of streaming replicas of "default".
    "CDR_READ_REPLICAS": {
        "ALIASES": [],
        # A replica further behind than this (or down) is not read: the primary is.
        "MAX_LAG_SECONDS": 10.0,
        # Each process checks each replica's lag at most this often (one query).
        "CHECK_SECONDS": 2.0,
        # After a client's write (an unsafe request), its reads stay on the primary this long.
        "STICKY_SECONDS": 15.0,
        # The read-only views served from a replica (URL names; GET and HEAD only).
        "VIEWS": [
            "admin:cdr_call_changelist",
            "admin:cdr_call_change",
            "admin:cdr_report_changelist",
            "cdr-api:call-list",
            "cdr-api:call-detail",
            "cdr-api:call-export",
            "cdr-api:report-summary",
        ],
    },
    # Record retention (Tenant.record_retention_days): calls deleted per transaction by
    # `cdr.records_purge`, each batch committed on its own so ingestion never waits long on it.
    "CDR_RECORD_RETENTION": {
        "BATCH_CALLS": 500,
    },
    # The event log's monthly partitions on PostgreSQL (docs/operations.md, "Partitioning"):
    # `cdr.event_partitions_ensure` keeps this month and MONTHS_AHEAD more created; creating or
    # dropping one waits at most LOCK_TIMEOUT for the table's lock (else the next run tries again).
    "CDR_EVENT_PARTITIONS": {
        "MONTHS_AHEAD": 3,
        "LOCK_TIMEOUT": "5s",
    },
    "CDR_ERASURE": {
        # Key of the HMAC that erasure audit rows keep instead of the selector (an address, a
        # Call-ID). Default: SECRET_KEY; a deployment that rotates SECRET_KEY sets its own.
        "HASH_KEY": _FROM_SECRET_KEY,
    },
}

# The app's periodic tasks (Celery beat): a project takes them as they are, or merges its own.
BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "cdr-calls-expire": {"task": "cdr.calls_expire", "schedule": 60.0},
    "cdr-batches-purge": {"task": "cdr.batches_purge", "schedule": 3600.0},
    "cdr-report-peaks-refresh": {"task": "cdr.report_peaks_refresh", "schedule": 60.0},
    # Report rollups trail the call rows by at most this (reports also catch up before reading).
    "cdr-rollups-catch-up": {"task": "cdr.rollups_catch_up", "schedule": 5.0},
    # Events accepted over HTTP are queued in the database; each request nudges a drain, and this
    # catches what a nudge missed (the broker was down when the request was answered).
    "cdr-gateway-batches-drain": {"task": "cdr.gateway_batches_drain", "schedule": 2.0},
    "cdr-recordings-purge": {"task": "cdr.recordings_purge", "schedule": 3600.0},
    # Whole UTC days expire at once: hourly is enough to catch each within the hour.
    "cdr-records-purge": {"task": "cdr.records_purge", "schedule": 3600.0},
    # Months are created MONTHS_AHEAD ahead: a daily run has weeks to spare.
    "cdr-event-partitions-ensure": {"task": "cdr.event_partitions_ensure", "schedule": 86400.0},
    "cdr-recordings-resume": {"task": "cdr.recordings_resume", "schedule": 600.0},
    "cdr-gateway-events-purge": {"task": "cdr.gateway_events_purge", "schedule": 3600.0},
}


def _resolve(name: str, value: Any) -> Any:
    if value is _FROM_SPOOL_DIR:
        return Path(cdr_setting("CDR_SPOOL_DIR")) / "recordings"
    if value is _FROM_SECRET_KEY:
        return settings.SECRET_KEY
    if name == "CDR_SPOOL_DIR" or name.endswith(".SPOOL_DIR"):
        return Path(value)
    return value


def cdr_setting(name: str) -> Any:
    """The value of ``name`` (a key of ``DEFAULTS``): the project's, else the app's default.

    A dict setting is the app's dict updated with the project's keys.
    """
    default = DEFAULTS[name]
    given = getattr(settings, name, None)
    if isinstance(default, dict):
        merged = {**default, **(given or {})}
        return {key: _resolve(f"{name}.{key}", value) for key, value in merged.items()}
    return _resolve(name, default if given is None else given)
