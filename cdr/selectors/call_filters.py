"""The filters of call records, defined once: the API list and export, ``cdr_export`` and the
admin's SIP class filter all read ``CALL_FILTERS``.

Each filter is a name, a parser of its one raw value (``ValueError`` with the reason) and the
condition the parsed value puts on ``Call``. A new filter is one more ``CallFilter`` in the table:
the API's parameters and schema and ``cdr_export``'s options follow from it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from django.db.models import Q, QuerySet

from cdr.lifecycle.fields import Invalid
from cdr.lifecycle.labels import label_filter_parse
from cdr.models import Call, CallStatus, Direction, HangupInitiator, Tenant
from cdr.selectors.calls import labels_q
from cdr.selectors.times import EXAMPLES, Zone, when_parse, zone_named

_U64 = 1 << 64
_I64 = 1 << 63


class FilterErrors(ValueError):
    """Bad filter values: ``errors`` maps each parameter to its reason."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in errors.items()))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class CallFilter:
    name: str
    # raw value (a list of them when ``many``), zone of times without an offset -> value
    parse: Callable[[Any, Zone], Any]
    condition: Callable[[Any], Q]
    kind: str  # "string", "integer", "boolean", or "time" (a string: cdr.selectors.times)
    description: str
    choices: tuple[str, ...] = ()
    many: bool = False  # repeatable (each value narrows further)


def _digits(value: str, most: int) -> bool:
    """ASCII digits only (``isdigit`` alone lets ``²`` through to a failing ``int``), at most ``most``."""
    return value.isascii() and value.isdigit() and len(value) <= most


def _tenant(value: str, _zone: Zone) -> int:
    if not _digits(value, 20) or int(value) >= _U64:
        raise ValueError("expected an unsigned 64-bit integer")
    return int(value)


def _when(upper: bool) -> Callable[[str, Zone], datetime]:
    def parse(value: str, zone: Zone) -> datetime:
        return when_parse(value, upper=upper, zone=zone)

    return parse


def _choice(values: tuple[str, ...]) -> Callable[[str, Zone], str]:
    def parse(value: str, _zone: Zone) -> str:
        if value not in values:
            raise ValueError(f"expected one of {', '.join(values)}")
        return value

    return parse


def _sip_code(value: str, _zone: Zone) -> int:
    if not _digits(value, 3) or not 100 <= int(value) <= 699:
        raise ValueError("expected a SIP status code 100..699")
    return int(value)


SIP_CLASSES = tuple(f"{n}xx" for n in range(1, 7))


def _sip_class(value: str, _zone: Zone) -> int:
    if value not in SIP_CLASSES:
        raise ValueError(f"expected one of {', '.join(SIP_CLASSES)}")
    return int(value[0]) * 100


def _milliseconds(value: str, _zone: Zone) -> int:
    # Bounded by BIGINT: SQLite cannot even bind a larger integer (an OverflowError, a 500).
    if not _digits(value, 19) or int(value) >= _I64:
        raise ValueError("expected a number of milliseconds 0..9223372036854775807")
    return int(value)


def _text(max_length: int) -> Callable[[str, Zone], str]:
    def parse(value: str, _zone: Zone) -> str:
        if len(value) > max_length:
            raise ValueError(f"at most {max_length} characters")
        if "\x00" in value:  # PostgreSQL text cannot hold NUL: no stored value matches it
            raise ValueError("NUL characters are not allowed")
        return value

    return parse


def _bool(value: str, _zone: Zone) -> bool:
    if value not in ("true", "false"):
        raise ValueError("expected true or false")
    return value == "true"


def _labels(values: list[str], _zone: Zone) -> dict[str, str]:
    try:
        return label_filter_parse(values, "label")
    except Invalid as exc:
        raise ValueError(str(exc).removeprefix("label: ")) from None


def _is(lookup: str) -> Callable[[Any], Q]:
    return lambda value: Q(**{lookup: value})


# Said once for every time filter (the API's schema appends it to each one's description).
TIME_NOTE = (
    f"A date or a date-time ({EXAMPLES}). Without an offset, in the tenant's time zone when one tenant is in"
    " scope (the `tenant` filter, or a user of one tenant), else UTC."
)
_LOWER = " A date means the start of that day."
_UPPER = " A date includes that whole day."

CALL_FILTERS: tuple[CallFilter, ...] = (
    CallFilter("tenant", _tenant, _is("tenant_id"), "string", "Tenant id (the gateway's unsigned 64-bit TenantID)."),
    CallFilter("started_after", _when(False), _is("started_at__gte"), "time", "Start at or after." + _LOWER),
    CallFilter("started_before", _when(True), _is("started_at__lt"), "time", "Start before." + _UPPER),
    CallFilter(
        "ended_after",
        _when(False),
        _is("ended_at__gte"),
        "time",
        "End at or after (calls still going have no end and are left out)." + _LOWER,
    ),
    CallFilter(
        "ended_before",
        _when(True),
        _is("ended_at__lt"),
        "time",
        "End before (calls still going are left out)." + _UPPER,
    ),
    CallFilter(
        "min_duration_ms",
        _milliseconds,
        _is("duration_ms__gte"),
        "integer",
        "Duration (end - start) of at least this many milliseconds, inclusive; calls still going are left out.",
    ),
    CallFilter(
        "max_duration_ms",
        _milliseconds,
        _is("duration_ms__lte"),
        "integer",
        "Duration (end - start) of at most this many milliseconds, inclusive; calls still going are left out.",
    ),
    CallFilter(
        "direction",
        _choice(tuple(Direction.values)),
        _is("direction"),
        "string",
        "Call direction.",
        tuple(Direction.values),
    ),
    CallFilter(
        "status", _choice(tuple(CallStatus.values)), _is("status"), "string", "Call status.", tuple(CallStatus.values)
    ),
    CallFilter("sip_code", _sip_code, _is("sip_code"), "integer", "Final SIP status code, e.g. 486."),
    CallFilter(
        "sip_class",
        _sip_class,
        lambda low: Q(sip_code__gte=low, sip_code__lt=low + 100),
        "string",
        "Class of the final SIP status code: 4xx is 400..499. Calls without a final code are left out.",
        SIP_CLASSES,
    ),
    CallFilter(
        "hangup_initiator",
        _choice(tuple(HangupInitiator.values)),
        _is("hangup_initiator"),
        "string",
        "Who hung up.",
        tuple(HangupInitiator.values),
    ),
    CallFilter("scenario", _text(64), _is("scenario"), "string", "Gateway scenario name (exact)."),
    CallFilter("correlation_id", _text(255), _is("correlation_id"), "string", "Correlation id (exact)."),
    CallFilter(
        "remote_addr",
        _text(255),
        _is("remote_addr__startswith"),
        "string",
        "Remote address prefix (`203.0.113.` or `203.0.113.5:5060`): records whose remote address starts with it.",
    ),
    CallFilter("has_recording", _bool, _is("has_recording"), "boolean", "Whether a recording of the call was stored."),
    CallFilter(
        "label",
        _labels,
        labels_q,
        "string",
        "`key=value`: only calls carrying this label (exact key and value, e.g. `from=+33612345678`; URL-encode"
        " `+` as `%2B`). Repeat to require several (AND). Conventional keys: from, to, did, campaign.",
        many=True,
    ),
)
CALL_FILTER_NAMES = tuple(f.name for f in CALL_FILTERS)
REPEATABLE = frozenset(f.name for f in CALL_FILTERS if f.many)
_BY_NAME = {f.name: f for f in CALL_FILTERS}


def call_filter(name: str) -> CallFilter:
    return _BY_NAME[name]


def call_filters_parse(raw: Mapping[str, Any], *, tenant_ids: Collection[int] | None) -> dict[str, Any]:
    """Parsed values of the filters given in ``raw`` (name -> one raw value, a list of them for a
    ``many`` filter; other names are ignored), ``FilterErrors`` naming every bad one.
    ``tenant_ids``: the tenants the caller may see (None: all); with the ``tenant`` filter they
    decide the zone of times without an offset."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    zone = zone_of_scope(tenant_ids)
    for spec in CALL_FILTERS:  # "tenant" first: it narrows the scope, hence the zone
        value = raw.get(spec.name)
        if value is None:
            continue
        try:
            values[spec.name] = spec.parse(value, zone)
        except ValueError as exc:
            errors[spec.name] = str(exc) if spec.many else f"{exc}, got {value[:100]!r}"
        # Another tenant's zone is not the caller's to use (its calls are not either: no rows).
        if spec.name == "tenant" and spec.name in values and (tenant_ids is None or values["tenant"] in tenant_ids):
            zone = zone_of_scope({values["tenant"]})
    if errors:
        raise FilterErrors(errors)
    return values


def call_filters_tenant(values: Mapping[str, Any], *, tenant_ids: Collection[int] | None) -> int | None:
    """The one tenant filtered calls are limited to, if they are: the ``tenant`` filter's, or the caller's only one."""
    if "tenant" in values:
        return int(values["tenant"])
    return next(iter(tenant_ids)) if tenant_ids is not None and len(tenant_ids) == 1 else None


def calls_filtered(values: Mapping[str, Any], *, qs: QuerySet[Call] | None = None) -> QuerySet[Call]:
    """``qs`` (every call) narrowed by parsed filter values (``call_filters_parse``)."""
    qs = Call.objects.all() if qs is None else qs
    for name, value in values.items():
        qs = qs.filter(_BY_NAME[name].condition(value))
    return qs


def zone_of_scope(tenant_ids: Collection[int] | None) -> Callable[[], tzinfo]:
    """The zone of times without an offset: the tenant's when exactly one is in scope (None: all
    tenants), else UTC. Lazy: the tenant is read only if a value needs its zone."""

    @functools.cache
    def zone() -> tzinfo:
        if tenant_ids is None or len(tenant_ids) != 1:
            return UTC
        name = Tenant.objects.filter(id=next(iter(tenant_ids))).values_list("time_zone", flat=True).first()
        return zone_named(name or "")

    return zone
