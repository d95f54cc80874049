"""Formatting shared by the admin pages: tenant-local times and durations."""

from __future__ import annotations

from datetime import datetime, tzinfo

from cdr.models.zones import zone_resolve


def zone(name: str) -> tzinfo:
    """The tenant's IANA zone; an unknown or empty name gives UTC rather than failing a page (the
    pages that show a tenant's zone say so: ``zone_label``)."""
    return zone_resolve(name)[0]


def zone_label(name: str) -> str:
    """The zone a page's times are in, as its heading says it: the name, or why it is UTC."""
    if zone_resolve(name)[1]:
        return name
    return f'UTC: "{name}" is not a time zone' if name else "UTC"


def local_time(value: datetime | None, zone_name: str, *, seconds: bool = True) -> str:
    if value is None:
        return ""
    local = value.astimezone(zone(zone_name))
    fmt = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return f"{local.strftime(fmt)} {local.tzname()}"


def duration(ms: int | None) -> str:
    """A call's length: ``3:05``, ``1:02:03`` from one hour (whole seconds, rounded down)."""
    if ms is None:
        return ""
    total, _ = divmod(max(ms, 0), 1000)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def seconds(ms: int | None) -> str:
    """A short delay (post-dial delay, ringing): ``18.2 s`` below a minute, else as ``duration``."""
    if ms is None:
        return ""
    ms = max(ms, 0)
    if ms < 59_950:  # 59.95 s would print as "60.0 s"
        return f"{ms / 1000:.1f} s"
    return duration(ms)
