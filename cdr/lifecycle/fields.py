"""Field checks of the event wire: timestamps, bounded text and integers, storable free-form JSON.

Pure, and shared by everything that reads an event (``cdr.lifecycle.events`` and the HTTP edge's
rules in ``cdr.lifecycle.wire``). Each check either returns the value or raises ``Invalid`` with a
message that names the field: the reason a rejected event is stored with.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import UTC, datetime
from typing import Any

# The pattern of the published schema (cdr/schemas/lifecycle-event.schema.json). Up to 9 fractional
# digits: Go's time.Time marshals RFC3339Nano. The store keeps microseconds: digits past the sixth are
# dropped (truncated, never rounded, as datetime.fromisoformat does), so a nanosecond stamp and its
# microsecond truncation are the same instant here, and fingerprint the same.
# The pieces are shared with the user-facing time parameters (cdr.selectors.times), which accept more.
RFC3339_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
RFC3339_FRACTION = r"\.[0-9]{1,9}"
RFC3339_OFFSET = r"(?:Z|[+-][0-9]{2}:[0-9]{2})"
_RFC3339 = re.compile(rf"^{RFC3339_DATE}[T ][0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}(?:{RFC3339_FRACTION})?{RFC3339_OFFSET}$")
OUT_OF_RANGE = "outside years 1 to 9999 in UTC"
_NAIVE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")
# What PostgreSQL's text and jsonb cannot hold: NUL, and UTF-16 surrogates without their pair
# (JSON's "\ud800" escape gives Python such a string); nor can json hold NaN or infinities. One
# such value fails the whole batch's transaction, so a valid event never carries one and a
# rejected event is stored with them replaced (_storable_copy).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_REASON = "contains NUL or an unpaired surrogate, which cannot be stored"
_MAX_DEPTH = 32  # of free-form JSON kept in an event (the sink's recording summary; rejected payloads)


class Invalid(ValueError):
    """A field of an event is unusable; the message names the field."""


def has_unstorable(value: str) -> bool:
    """Whether text holds what PostgreSQL cannot store (NUL, an unpaired surrogate)."""
    return _UNSTORABLE.search(value) is not None


@functools.lru_cache(maxsize=8192)
def _utc(value: str) -> datetime | None:
    """A valid RFC 3339 timestamp as an aware UTC datetime, else None. Cached: the legs of a call
    repeat their StartedAt in every event, and a batch holds many events of the same calls."""
    if not _RFC3339.match(value):
        return None
    try:
        parsed = datetime.fromisoformat(value)
        return as_utc(parsed) if parsed.tzinfo is not None else None
    except ValueError:  # not a date, or outside years 1..9999 in UTC
        return None


def as_utc(parsed: datetime) -> datetime:
    """An aware datetime in UTC, as every database gets it: ``9999-12-31T23:59:59-14:00`` is past the
    year 9999 there, so it is a ``ValueError`` (``OUT_OF_RANGE``), never an ``OverflowError`` later."""
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(OUT_OF_RANGE) from None


# Go's zero time.Time, as the event log keeps a "not known" StartedAt (see cdr.lifecycle.events.parse_call).
GO_ZERO_TIME = "0001-01-01T00:00:00Z"


def is_zero_time(value: Any) -> bool:
    """Go's zero time.Time (``0001-01-01T00:00:00Z``, in any offset): the gateway did not know the time."""
    return isinstance(value, str) and value.startswith("0001-01-01")


def parse_time(value: Any, name: str, *, required: bool) -> datetime | None:
    if type(value) is str and len(value) <= 40 and not is_zero_time(value):
        parsed = _utc(value)
        if parsed is not None:
            return parsed
    # Not a valid timestamp (or Go's zero time): the checks below say which rule it breaks.
    if value in (None, "") or is_zero_time(value):
        if required:
            raise Invalid(f"{name}: required")
        return None  # Go's zero time.Time
    if not isinstance(value, str):
        raise Invalid(f"{name}: expected an RFC 3339 string, got {type(value).__name__}")
    if not _RFC3339.match(value):
        # fromisoformat alone takes ISO 8601 forms RFC 3339 (and the published schema) do not.
        if _NAIVE.match(value):
            raise Invalid(f"{name}: naive timestamp (no UTC offset): {value[:40]!r}")
        raise Invalid(f"{name}: not an RFC 3339 timestamp: {value[:40]!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{name}: not an RFC 3339 timestamp: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        raise Invalid(f"{name}: naive timestamp (no UTC offset): {value[:40]!r}")
    try:
        return as_utc(parsed)
    except ValueError:
        raise Invalid(f"{name}: {OUT_OF_RANGE}: {value[:40]!r}") from None


def text(obj: dict[str, Any], key: str, name: str, limit: int, *, required: bool = False) -> str:
    value = obj.get(key, "")
    if type(value) is str and len(value) <= limit and (value or not required) and value.isascii():
        if "\x00" not in value:
            return value
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"{name}: expected a string, got {type(value).__name__}")
    if required and not value:
        raise Invalid(f"{name}: required (empty)")
    if len(value) > limit:
        raise Invalid(f"{name}: longer than {limit} characters")
    if _UNSTORABLE.search(value):
        raise Invalid(f"{name}: {UNSTORABLE_REASON}")
    return value


def storable(value: Any, name: str) -> Any:
    """Free-form JSON kept as it is in a valid event, checked: Invalid names what cannot be stored."""
    stack = [(value, name, 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                raise Invalid(f"{path}: {UNSTORABLE_REASON}")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise Invalid(f"{path}: {item!r} is not a JSON number")
        elif isinstance(item, dict | list):
            if depth >= _MAX_DEPTH:
                raise Invalid(f"{path}: nested deeper than {_MAX_DEPTH} levels")
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for k, v in pairs:
                if isinstance(k, str) and _UNSTORABLE.search(k):
                    raise Invalid(f"{path}: a key {UNSTORABLE_REASON}")
                stack.append((v, f"{path}.{k}" if isinstance(item, dict) else f"{path}[{k}]", depth + 1))
    return value


def storable_copy(value: Any) -> Any:
    """A copy of any JSON value that PostgreSQL can store: NUL and unpaired surrogates become
    U+FFFD, NaN and infinities null, objects nested past the depth limit a note."""

    def scalar(v: Any) -> Any:
        if isinstance(v, str):
            return _UNSTORABLE.sub("\ufffd", v)
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v

    def container(v: Any) -> Any:
        return {} if isinstance(v, dict) else []

    if not isinstance(value, dict | list):
        return scalar(value)
    root = container(value)
    stack = [(value, root, 0)]
    while stack:
        src, dst, depth = stack.pop()
        pairs = src.items() if isinstance(src, dict) else enumerate(src)
        for k, v in pairs:
            if not isinstance(v, dict | list):
                child = scalar(v)
            elif depth + 1 >= _MAX_DEPTH:
                child = f"(nested deeper than {_MAX_DEPTH} levels)"
            else:
                child = container(v)
                stack.append((v, child, depth + 1))
            if isinstance(dst, dict):
                dst[scalar(k)] = child
            else:
                dst.append(child)
    return root


def integer(obj: dict[str, Any], key: str, name: str, lo: int, hi: int) -> int:
    value = obj.get(key, 0)
    if type(value) is int and lo <= value <= hi:
        return value
    if value is None:
        value = 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{name}: expected an integer, got {type(value).__name__}")
    if not lo <= value <= hi:
        raise Invalid(f"{name}: {value} is outside {lo}..{hi}")
    return value


def sub_object(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    if not isinstance(value, dict):
        raise Invalid(f"{key}: expected an object")
    return value
