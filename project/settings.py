"""The one settings module, driven by environment variables.

With no environment set it runs the embedded default: SQLite under ./var, recordings as local
files, Celery tasks executed in-process (no broker). Setting an integration's switch variable
(DATABASE_URL, CELERY_BROKER_URL, CDR_S3_BUCKET, DJANGO_DEBUG=0) turns it on, and from then on
its required values have no defaults: a gap fails at start-up with a message naming it.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from cdr.conf import BEAT_SCHEDULE
from project.env import env, env_bool, env_float, env_given, env_int, env_required
from project.keys import installation_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CDR_VAR_DIR", BASE_DIR / "var"))


# --- Django core ---------------------------------------------------------------------------
DEBUG = env_bool("DJANGO_DEBUG", True)
if DEBUG:
    # Random per installation, kept in CDR_VAR_DIR/secret_key (project/keys.py; docs/operations.md).
    SECRET_KEY = env("DJANGO_SECRET_KEY") or installation_secret_key(VAR_DIR / "secret_key")
    ALLOWED_HOSTS = (env("DJANGO_ALLOWED_HOSTS", "*") or "*").split(",")
else:
    SECRET_KEY = env_required("DJANGO_SECRET_KEY", "required when DJANGO_DEBUG=0")
    ALLOWED_HOSTS = env_required("DJANGO_ALLOWED_HOSTS", "required when DJANGO_DEBUG=0").split(",")

# --- HTTPS ---------------------------------------------------------------------------------
# DJANGO_HTTPS=1: the site is reached over TLS only, usually through a proxy that terminates it
# and sets X-Forwarded-Proto (it must overwrite a client's own). The probes (project/health.py)
# stay reachable over plain HTTP by IP. https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/
if env_bool("DJANGO_HTTPS", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # Start short, raise to a year (31536000) once the site is known to work over HTTPS: browsers
    # refuse plain HTTP to the host for this long, whatever the server later says.
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
# Origins allowed to POST forms across hosts (a proxy answering on another name): https://a.example,...
CSRF_TRUSTED_ORIGINS = [o for o in (env("DJANGO_CSRF_TRUSTED_ORIGINS", "") or "").split(",") if o]
# Never redirected (they are answered before SecurityMiddleware anyway; this keeps it so if the
# middleware order changes): a kubelet or a scraper probes over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$", r"^metrics/?$"]
# HSTS for every subdomain (W005) and browser preload lists (W021) bind hosts this project does not
# know of, for months: the operator's decision (the two variables above), not a default.
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "cdr",
]

MIDDLEWARE = [
    # /healthz, /readyz and /metrics, answered before host validation (CommonMiddleware's get_host())
    # and the HTTPS redirect: probes and scrapers come by pod IP over plain HTTP (project/health.py).
    "project.health.ProbeMiddleware",
    "project.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

if not DEBUG:
    # Static files served by the app itself, right after the security headers are decided (debug:
    # runserver serves them). https://whitenoise.readthedocs.io/en/stable/django.html
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
        "whitenoise.middleware.WhiteNoiseMiddleware",
    )

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- admin login throttling (project/throttle.py) -------------------------------------------
INSTALLED_APPS += ["axes"]
MIDDLEWARE.append("axes.middleware.AxesMiddleware")  # last: it turns a lockout into the 429 page
AUTHENTICATION_BACKENDS = ["project.throttle.LoginThrottleBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env_int("CDR_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_float("CDR_LOGIN_COOLOFF_MINUTES", 15) / 60  # hours
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "project.throttle.client_ip"
# Off: its start-up banner would be an INFO line on the stderr of every process and command.
AXES_VERBOSE = False

# --- Database ------------------------------------------------------------------------------
# DATABASE_URL: any URL dj-database-url understands (postgres://..., sqlite:///path).
# https://github.com/jazzband/dj-database-url#url-schema
DATABASE_URL = env("DATABASE_URL")
if DATABASE_URL:
    try:
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
    except Exception as exc:  # dj-database-url raises bare ValueErrors/KeyErrors on bad URLs
        raise ImproperlyConfigured(f"DATABASE_URL is not a usable database URL: {exc}") from None
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "cdr.sqlite3",
            # The in-process pipeline writes from a background thread while the admin reads:
            # wait for the lock instead of failing with "database is locked".
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }

# DATABASE_REPLICA_URLS: streaming replicas of that database, comma-separated. The admin's call
# pages and reports and the API's reads go to one that answers and keeps up (cdr.db.replicas,
# docs/operations.md); writes, ingestion and the change feed stay on the primary.
REPLICA_URLS = [u.strip() for u in (env("DATABASE_REPLICA_URLS") or "").split(",") if u.strip()]
if REPLICA_URLS:
    if not DATABASE_URL:
        raise ImproperlyConfigured("DATABASE_REPLICA_URLS needs DATABASE_URL (replicas of which database?)")
    for number, url in enumerate(REPLICA_URLS, 1):
        try:
            replica = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
        except Exception as exc:
            raise ImproperlyConfigured(f"DATABASE_REPLICA_URLS #{number} is not a usable database URL: {exc}") from None
        # A replica that is down costs a request at most this long before the primary takes over.
        replica.setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
        replica["TEST"] = {"MIRROR": "default"}
        DATABASES[f"replica_{number}"] = replica
    DATABASE_ROUTERS = ["cdr.db.replicas.ReplicaRouter"]
    CDR_READ_REPLICAS = env_given(
        {
            "MAX_LAG_SECONDS": ("CDR_REPLICA_MAX_LAG_SECONDS", float),
            "CHECK_SECONDS": ("CDR_REPLICA_CHECK_SECONDS", float),
            "STICKY_SECONDS": ("CDR_REPLICA_STICKY_SECONDS", float),
        }
    ) | {"ALIASES": [f"replica_{n}" for n in range(1, len(REPLICA_URLS) + 1)]}
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        "cdr.middleware.ReplicaReadsMiddleware",
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT", str(VAR_DIR / "static")) or "")

# DJANGO_LOG_FORMAT=json: one JSON object per line (project/logs.py); both formats carry the
# request id and escape what a client could use to forge a line.
LOG_FORMAT = env("DJANGO_LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"DJANGO_LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "()": "project.logs.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s",
        },
        "json": {"()": "project.logs.JsonFormatter"},
    },
    "filters": {"request_id": {"()": "project.logs.RequestIdFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # One INFO line per task is noise at thousands of events per second.
        "celery.app.trace": {"level": env("CELERY_TRACE_LOG_LEVEL", "WARNING")},
    },
}

# --- Celery --------------------------------------------------------------------------------
# No CELERY_BROKER_URL: tasks run in-process (same task code, no broker, no worker).
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
CELERY_BROKER_URL = env("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
if CELERY_BROKER_URL is None:
    CELERY_BROKER_URL = "memory://localhost/"  # never used for transport: eager apply_async still opens it
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
# Writes are idempotent, so a message is acknowledged only after its task finished and is
# redelivered if the worker dies mid-task (docs: tasks.rst "acks_late").
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env_int("CELERY_WORKER_PREFETCH_MULTIPLIER", 2)
CELERY_TASK_DEFAULT_QUEUE = "cdr"
CELERY_TASK_ROUTES = {"cdr.recording_*": {"queue": "media"}}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis redelivers an unacknowledged message after this many seconds (a SIGKILLed worker's
# batch). It must exceed the longest task time limit, or a slow task is run twice (harmless:
# idempotent, but wasted).
# Workers look for such abandoned messages every CELERY_UNACKED_RESTORE_INTERVAL seconds.
# https://docs.celeryq.dev/projects/kombu/en/stable/reference/kombu.transport.redis.html
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 300),
    "unacked_restore_interval": env_int("CELERY_UNACKED_RESTORE_INTERVAL", 10),
    "unacked_restore_throttle": 1,
}
# Workers log through LOGGING above (the JSON format too) instead of Celery's own root handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT != "json"
# The app's periodic tasks (cdr.conf.BEAT_SCHEDULE): expiry, purges, report upkeep, HTTP drain.
CELERY_BEAT_SCHEDULE = dict(BEAT_SCHEDULE)

# --- cdr -----------------------------------------------------------------------------------
# The app's own defaults and what each value means are in cdr/conf.py; here only what the
# deployment decides, from the environment (an unset variable keeps the app's default).
CDR_SPOOL_DIR = Path(env("CDR_SPOOL_DIR", str(VAR_DIR / "spool")) or "")
# Scalar settings whose variable has the setting's own name: set only when the variable is.
globals().update(
    env_given(
        {
            "CDR_RINGING_TIMEOUT": ("CDR_RINGING_TIMEOUT", int),
            "CDR_ESTABLISHED_TIMEOUT": ("CDR_ESTABLISHED_TIMEOUT", int),
            "CDR_INGESTED_BATCH_DAYS": ("CDR_INGESTED_BATCH_DAYS", int),
            "CDR_API_CHANGES_SETTLE_SECONDS": ("CDR_API_CHANGES_SETTLE_SECONDS", int),
        }
    )
)
CDR_LIFECYCLE_SINK = env_given(
    {
        "BUFFER_EVENTS": ("CDR_SINK_BUFFER_EVENTS", int),
        "BATCH_EVENTS": ("CDR_SINK_BATCH_EVENTS", int),
        "FLUSH_SECONDS": ("CDR_SINK_FLUSH_SECONDS", float),
        "SPOOL_MAX_EVENTS": ("CDR_SINK_SPOOL_MAX_EVENTS", int),
        "PUBLISH_TIMEOUT": ("CDR_SINK_PUBLISH_TIMEOUT", float),
        "REDELIVER_SECONDS": ("CDR_SINK_REDELIVER_SECONDS", float),
    }
)

# --- recordings storage --------------------------------------------------------------------
# Recordings live in the "recordings" storage alias: local files under VAR_DIR/recordings by
# default, S3 (or any S3-compatible server) once CDR_S3_BUCKET is set. Objects are private and
# are only handed out through short-lived links (presigned URLs, or a signed Django view).
# https://django-storages.readthedocs.io/en/latest/backends/amazon-S3.html#settings
CDR_S3_BUCKET = env("CDR_S3_BUCKET")
if CDR_S3_BUCKET:
    from boto3.s3.transfer import TransferConfig as _TransferConfig
    from botocore.config import Config as _BotoConfig

    _s3_transfer = _TransferConfig(max_concurrency=2)
    # Read by s3transfer's upload manager, not a keyword of boto3's TransferConfig.
    _s3_transfer.max_in_memory_upload_chunks = 2

    _s3_missing = [name for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") if env(name) is None]
    if _s3_missing:
        raise ImproperlyConfigured(f"{' and '.join(_s3_missing)} must be set (required when CDR_S3_BUCKET is set).")
    _RECORDINGS_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": CDR_S3_BUCKET,
            # Empty for AWS itself; the server's URL for MinIO, SeaweedFS, Ceph...
            "endpoint_url": env("CDR_S3_ENDPOINT_URL"),
            "region_name": env("CDR_S3_REGION", "us-east-1"),
            "access_key": env("AWS_ACCESS_KEY_ID"),
            "secret_key": env("AWS_SECRET_ACCESS_KEY"),
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": env_int("CDR_RECORDING_LINK_SECONDS", 300),
            # Deterministic keys: a retried upload overwrites the same object, never a copy.
            "file_overwrite": True,
            # Every S3 call is bounded: a down or frozen endpoint fails fast and the sink spools.
            # A client_config replaces django-storages' own, so addressing style and SigV4
            # (required for presigned URLs on most servers) are set here, not as OPTIONS.
            "client_config": _BotoConfig(
                s3={"addressing_style": env("CDR_S3_ADDRESSING_STYLE", "path")},
                signature_version="s3v4",
                connect_timeout=env_int("CDR_S3_CONNECT_TIMEOUT", 3),
                read_timeout=env_int("CDR_S3_READ_TIMEOUT", 30),
                retries={"max_attempts": 2, "mode": "standard"},
            ),
            # A WAV upload buffers at most 2 parts of 8 MiB (boto3's default: 10, i.e. 80 MiB per
            # transcode); the transcode itself stays within about half the original's size.
            "transfer_config": _s3_transfer,
        },
    }
else:
    _RECORDINGS_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "recordings"), "allow_overwrite": True},
    }
# CDR_S3_PUBLIC_ENDPOINT_URL: where browsers reach the S3 server when it differs from where the
# servers do (docker-compose: the servers say http://s3:8333, a browser cannot): playback and
# download links are signed for that address (cdr.storage.backend.recordings_link_storage).
_LINKS_STORAGE = None
if CDR_S3_BUCKET and env("CDR_S3_PUBLIC_ENDPOINT_URL"):
    _LINKS_STORAGE = {
        **_RECORDINGS_STORAGE,
        "OPTIONS": {**_RECORDINGS_STORAGE["OPTIONS"], "endpoint_url": env("CDR_S3_PUBLIC_ENDPOINT_URL")},
    }
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Production: hashed names (cached for ever by browsers) and gzip/brotli copies made by
    # collectstatic; WhiteNoise serves them. Debug: the files as they are, no manifest needed.
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
    "recordings": _RECORDINGS_STORAGE,
    **({"recordings_links": _LINKS_STORAGE} if _LINKS_STORAGE else {}),
}
CDR_RECORDINGS = env_given(
    {
        "LINK_SECONDS": ("CDR_RECORDING_LINK_SECONDS", int),
        "FINISH_TIMEOUT": ("CDR_RECORDING_FINISH_TIMEOUT", float),
        "POLICY_CACHE_SECONDS": ("CDR_RECORDING_POLICY_CACHE_SECONDS", int),
        "TAP_MEMORY_BYTES": ("CDR_RECORDING_TAP_MEMORY_BYTES", int),
        "UPLOAD_THREADS": ("CDR_RECORDING_UPLOAD_THREADS", int),
        "SNAP_MS": ("CDR_RECORDING_SNAP_MS", int),
    }
)
# --- end recordings storage ---------------------------------------------------------------

# --- REST API ------------------------------------------------------------------------------
# https://www.django-rest-framework.org/api-guide/settings/
# drf_spectacular_sidecar: Redoc's script for /api/docs/, served from STATIC (no CDN).
INSTALLED_APPS += ["rest_framework", "drf_spectacular", "drf_spectacular_sidecar"]
REST_FRAMEWORK = {
    # Bearer tokens for machines; the session for a signed-in admin user reading the docs.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "cdr.api.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# https://drf-spectacular.readthedocs.io/en/latest/settings.html
SPECTACULAR_SETTINGS = {
    "TITLE": "cdr API",
    "DESCRIPTION": "Call detail records: list, detail and streamed export, scoped to the caller's tenants.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Several models share choice sets (status, initiator): one named enum each.
    "ENUM_NAME_OVERRIDES": {
        "CallStatusEnum": "cdr.models.CallStatus",
        "EventStatusEnum": "cdr.models.EventStatus",
        "HangupInitiatorEnum": "cdr.models.HangupInitiator",
    },
}
# --- end REST API --------------------------------------------------------------------------

# --- metrics (project/metrics.py) ----------------------------------------------------------
# /metrics answers only with this token (Authorization: Bearer ...); unset: 404.
CDR_METRICS_TOKEN = env("CDR_METRICS_TOKEN")
# PROMETHEUS_MULTIPROC_DIR (read by prometheus_client itself, set before the process starts): the
# directory where this service's processes keep their counters, emptied when the service starts
# (project/gunicorn.conf.py, docker-compose.yml). CDR_METRICS_DIRS: other services' directories on
# a shared volume that /metrics sums with its own (the workers'), comma-separated; only read in
# that mode. https://prometheus.github.io/client_python/multiprocess/
CDR_METRICS_DIRS = [d.strip() for d in (env("CDR_METRICS_DIRS", "") or "").split(",") if d.strip()]
if env("PROMETHEUS_MULTIPROC_DIR"):
    # Any process of the service writes there as soon as cdr.metrics is imported (a manage.py
    # command before gunicorn starts, too): it must exist.
    Path(env("PROMETHEUS_MULTIPROC_DIR") or "").mkdir(parents=True, exist_ok=True)

# --- HTTP ingestion (cdr.ingest) -----------------------------------------------------------
# Gateways in other processes post signed batches of lifecycle events and recordings
# (docs/ingest.md). Gateway secrets are stored encrypted with a key derived from
# CDR_GATEWAY_SECRET_KEY (SECRET_KEY when unset: rotating SECRET_KEY then needs new gateway secrets).
CDR_INGEST = env_given(
    {
        "MAX_EVENTS": ("CDR_INGEST_MAX_EVENTS", int),
        "MAX_BODY_BYTES": ("CDR_INGEST_MAX_BODY_BYTES", int),
        "MAX_RECORDING_BYTES": ("CDR_INGEST_MAX_RECORDING_BYTES", int),
        "REPLAY_SECONDS": ("CDR_INGEST_REPLAY_SECONDS", int),
        "EVENT_ID_DAYS": ("CDR_INGEST_EVENT_ID_DAYS", int),
        # YYYY-MM-DD (the last day a v1 signature is accepted) or "off" (docs/ingest.md).
        "SIGNATURE_V1_UNTIL": ("CDR_INGEST_SIGNATURE_V1_UNTIL", str),
        "SECRET_KEY": ("CDR_GATEWAY_SECRET_KEY", str),
    }
)
# --- end HTTP ingestion --------------------------------------------------------------------
