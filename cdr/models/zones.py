"""Tenant time zones: the IANA names this Python knows (``zoneinfo``), a validator, and the zone a
page uses for a stored name, saying when it falls back to UTC."""

from __future__ import annotations

from datetime import UTC, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.core.exceptions import ValidationError

# Names of the host's zoneinfo tree that are no IANA zone of their own: "localtime" is this
# machine's setting (another host, another zone), "posixrules" and "Factory" are tzdata plumbing.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


@lru_cache(maxsize=1)
def time_zone_names() -> tuple[str, ...]:
    """Every IANA zone name known here, sorted (the choices of the tenant form)."""
    return tuple(sorted((available_timezones() | {"UTC"}) - _NOT_ZONES))


def time_zone_valid(name: str) -> bool:
    return name in _names_set()


@lru_cache(maxsize=1)
def _names_set() -> frozenset[str]:
    return frozenset(time_zone_names())


def validate_time_zone(value: str) -> None:
    """The model's validator: an IANA name exactly as spelled in the tz database."""
    if time_zone_valid(value):
        return
    folded = {n.casefold(): n for n in time_zone_names()}
    hint = f' Did you mean "{folded[value.casefold()]}"?' if value.casefold() in folded else ""
    raise ValidationError(
        '"%(value)s" is not an IANA time zone name (such as "Europe/Paris" or "UTC").%(hint)s',
        code="invalid_time_zone",
        params={"value": value, "hint": hint},
    )


@lru_cache(maxsize=512)
def zone_resolve(name: str) -> tuple[tzinfo, bool]:
    """(the zone to show times in, whether ``name`` is a valid zone). An empty or unknown name
    gives UTC and False, so a page can say it shows UTC instead of the tenant's zone."""
    if not time_zone_valid(name):
        return UTC, False
    try:
        return ZoneInfo(name), True
    except (ZoneInfoNotFoundError, ValueError):
        return UTC, False


def invalid_zone_message(tenant: object) -> str:
    """What the tenant page and the cdr.W002 check say about a stored name that is no zone."""
    name = getattr(tenant, "time_zone", "")
    return (
        f'{tenant} (id {getattr(tenant, "pk", "?")}) has the time zone "{name}", which is not an IANA name: '
        "its times are shown in UTC until a zone is chosen."
    )
