"""Start-up checks over every ``CDR_*`` value (``cdr.conf``): a wrong value or an unknown key fails
with a message that names the setting."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import checks

from cdr.conf import DEFAULTS

_BAD_ZONES_SHOWN = 20


def _v1_until_problem(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "off")):
        return None
    try:
        date.fromisoformat(value.strip())
    except (AttributeError, TypeError, ValueError):
        return 'must be a date (YYYY-MM-DD, the last day signature v1 is accepted) or "off"'
    return None


# Values whose default's type says too little about them, by "NAME.KEY".
_SPECIFIC = {"CDR_INGEST.SIGNATURE_V1_UNTIL": _v1_until_problem}


def _problem(value: Any, default: Any, name: str = "") -> str | None:
    """Why ``value`` cannot stand where ``default`` is, or None."""
    if name in _SPECIFIC:
        return _SPECIFIC[name](value)
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            return "must be a positive integer"
        return None
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            return "must be a positive number"
        return None
    if isinstance(default, Path):
        return None if isinstance(value, str | Path) and str(value) else "must be a directory path"
    return None  # computed defaults (the recordings spool directory, the gateway secret key): not checked


@checks.register()
def cdr_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for name, default in DEFAULTS.items():
        if not hasattr(settings, name):
            continue  # the app's default
        value = getattr(settings, name)
        if isinstance(default, dict):
            if not isinstance(value, dict):
                errors.append(checks.Error(f"{name} must be a dict of {', '.join(default)}.", id="cdr.E002"))
                continue
            for key in sorted(set(value) - set(default)):
                errors.append(
                    checks.Error(
                        f"{name}[{key!r}] is not a setting of cdr.",
                        hint=f"Known keys: {', '.join(default)}.",
                        id="cdr.E003",
                    )
                )
            for key, item in value.items():
                if key in default and (why := _problem(item, default[key], f"{name}.{key}")):
                    errors.append(checks.Error(f"{name}[{key!r}] {why}, got {item!r}.", id="cdr.E001"))
        elif why := _problem(value, default):
            errors.append(checks.Error(f"{name} {why}, got {value!r}.", id="cdr.E001"))
    if "recordings" not in getattr(settings, "STORAGES", {}):
        errors.append(
            checks.Error(
                'STORAGES has no "recordings" alias: where call recordings (personal data) are kept.',
                hint='Add STORAGES["recordings"]: a private FileSystemStorage (allow_overwrite) or S3Storage '
                "(file_overwrite); never a storage served publicly (README, Install as an app).",
                id="cdr.E004",
            )
        )
    errors += _replica_problems()
    return errors


def _replica_problems() -> list[checks.CheckMessage]:
    conf = getattr(settings, "CDR_READ_REPLICAS", None)
    if not isinstance(conf, dict) or "ALIASES" not in conf:
        return []
    aliases = conf["ALIASES"]
    if not isinstance(aliases, list | tuple) or not all(isinstance(a, str) for a in aliases):
        return [
            checks.Error(
                f"CDR_READ_REPLICAS['ALIASES'] must be a list of database aliases, got {aliases!r}.", id="cdr.E005"
            )
        ]
    errors = [
        checks.Error(
            f"CDR_READ_REPLICAS['ALIASES'] names {alias!r}, which is "
            + ("the primary." if alias == "default" else "not in DATABASES."),
            hint="List the aliases of read replicas of the default database (DATABASE_REPLICA_URLS).",
            id="cdr.E005",
        )
        for alias in aliases
        if alias == "default" or alias not in settings.DATABASES
    ]
    if aliases and "cdr.db.replicas.ReplicaRouter" not in getattr(settings, "DATABASE_ROUTERS", []):
        errors.append(
            checks.Error(
                "CDR_READ_REPLICAS lists replicas but DATABASE_ROUTERS lacks cdr.db.replicas.ReplicaRouter.",
                id="cdr.E005",
            )
        )
    return errors


@checks.register()
def cdr_api_schema(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The API's schema and docs pages need drf-spectacular's AutoSchema as DRF's schema class."""
    if "rest_framework" not in settings.INSTALLED_APPS:
        return []
    from rest_framework.settings import api_settings

    schema_class = api_settings.DEFAULT_SCHEMA_CLASS
    if schema_class is not None and schema_class.__module__.startswith("drf_spectacular"):
        return []
    return [
        checks.Warning(
            "/api/schema/ and /api/docs/ will fail: DRF's DEFAULT_SCHEMA_CLASS is not drf-spectacular's.",
            hint='REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}',
            id="cdr.W001",
        )
    ]


@checks.register(checks.Tags.database)
def cdr_tenant_time_zones(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Tenants whose stored zone is no IANA name (written around the model's validator): their
    pages show UTC. A database check: ``manage.py check --database default`` and ``migrate`` run it."""
    if not databases or "default" not in databases:
        return []
    from django.db import DatabaseError

    from cdr.models import Tenant
    from cdr.models.zones import invalid_zone_message, time_zone_names

    try:
        bad = list(Tenant.objects.exclude(time_zone__in=time_zone_names()).order_by("id")[: _BAD_ZONES_SHOWN + 1])
    except DatabaseError:  # not migrated yet: migrate reports that itself
        return []
    found = [
        checks.Warning(
            invalid_zone_message(tenant),
            hint="Choose its zone on the tenant's admin page (a list of IANA names).",
            obj=tenant,
            id="cdr.W002",
        )
        for tenant in bad[:_BAD_ZONES_SHOWN]
    ]
    if len(bad) > _BAD_ZONES_SHOWN:
        found.append(checks.Warning("... and more tenants without a valid time zone.", id="cdr.W002"))
    return found
