"""Formatting shared by the admin pages: tenant-local times and durations."""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import lru_cache

from cdr.selectors.times import zone_named


@lru_cache(maxsize=512)
def zone(name: str) -> tzinfo:
    """The tenant's IANA zone; an unknown or empty name falls back to UTC rather than failing a page."""
    return zone_named(name)


def local_time(value: datetime | None, zone_name: str, *, seconds: bool = True) -> str:
    if value is None:
        return ""
    local = value.astimezone(zone(zone_name))
    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return f"{local.strftime(fmt)} {local.tzname()}"


def duration(ms: int | None) -> str:
    if ms is None:
        return ""
    total, _ = divmod(max(ms, 0), 1000)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
