"""User-facing time parameters: one grammar for the API, ``cdr_export`` and the admin's date filters.

Accepted (ASCII digits only, case-insensitive ``T``/``Z``):

- a date ``2026-12-03``: a day in the scope's zone (the tenant's when one tenant is in scope, else
  UTC), or ``2026-12-03Z`` / ``2026-12-03+01:00`` for the day in that offset. As a lower bound it
  is the start of the day; as an upper bound (exclusive) the start of the next one, so the whole
  day is included;
- a date-time ``2026-12-03T08:30``, ``...T08:30:15``, ``...T08:30:15.123456789``, with ``Z`` or an
  offset ``+01:00``, or without one: then in the scope's zone. Up to 9 fractional digits (Go's
  RFC3339Nano), truncated to microseconds as the wire does (``cdr.lifecycle.fields``).

Anything else, and any instant outside the years 0001..9999 in UTC, is a ``ValueError`` whose
message is the reason (the interfaces put it in their 400, ``CommandError`` or "invalid lookup").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from cdr.lifecycle.fields import OUT_OF_RANGE, RFC3339_DATE, RFC3339_FRACTION, RFC3339_OFFSET, as_utc
from cdr.models.zones import zone_resolve

_WHEN = re.compile(
    rf"(?P<date>{RFC3339_DATE})"
    rf"(?:[Tt ](?P<time>[0-9]{{2}}:[0-9]{{2}}(?::[0-9]{{2}}(?:{RFC3339_FRACTION})?)?))?"
    rf"(?P<offset>{RFC3339_OFFSET}|z)?"
)
# "...T08:30:00+01:00" sent unencoded in a URL arrives as "...T08:30:00 01:00".
_PLUS_AS_SPACE = re.compile(r"[0-9T:.-]+[0-9] [0-9]{2}:[0-9]{2}")
_MAX_LENGTH = 40
EXAMPLES = "2026-12-03, 2026-12-03T08:30:00Z or 2026-12-03T08:30:00+01:00"
_EXPECTED = f"expected a date or a date-time ({EXAMPLES})"

# The zone of a value without an offset: a zone, or a callable giving it (read only when needed,
# so a request with offsets everywhere costs no query for the tenant's zone).
Zone = tzinfo | Callable[[], tzinfo]


def zone_named(name: str) -> tzinfo:
    """An IANA zone by name; an unknown or empty one is UTC rather than a failing page."""
    return zone_resolve(name)[0]


def when_parse(value: str, *, upper: bool, zone: Zone = UTC) -> datetime:
    """The UTC instant a time parameter means; ``upper``: an exclusive upper bound (a date is then
    the start of the next day). ``ValueError`` with the reason for anything else."""
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    match = _WHEN.fullmatch(value) if len(value) <= _MAX_LENGTH else None
    if match is None:
        if _PLUS_AS_SPACE.fullmatch(value):
            raise ValueError(f"{_EXPECTED}; a + in a query string reads as a space: send it as %2B")
        raise ValueError(_EXPECTED)
    day_text, clock, offset = match.group("date", "time", "offset")
    if day_text.startswith("0000"):
        raise ValueError(OUT_OF_RANGE)
    try:
        day = date.fromisoformat(day_text)
        if clock is None:
            local = datetime.combine(day, time())
        else:
            local = datetime.fromisoformat(f"{day_text}T{clock}")
    except ValueError as exc:  # 2026-02-30, 25:00
        raise ValueError(f"not a valid date or time ({exc})") from None
    if offset is not None:
        try:
            aware = datetime.fromisoformat(f"2000-01-01T00:00{offset.upper()}")
        except ValueError:  # +25:00
            raise ValueError(f"not a valid UTC offset: {offset}") from None
        local = local.replace(tzinfo=aware.tzinfo)
    else:
        local = local.replace(tzinfo=zone if isinstance(zone, tzinfo) else zone())
    if clock is None and upper:
        try:
            local += timedelta(days=1)  # wall-clock: a 23- or 25-hour day stays one local day
        except OverflowError:
            raise ValueError(OUT_OF_RANGE) from None
    return as_utc(local)
