"""Query parameters of the call list and export: parsed once, each bad value a 400 naming it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError

from cdr.api.labels import calls_apply_label_filter, label_parameter
from cdr.models import Call, CallStatus, Direction, HangupInitiator

_U64 = 1 << 64


def _digits(value: str, most: int) -> bool:
    """ASCII digits only (``isdigit`` alone lets ``²`` through to a failing ``int``), at most ``most``."""
    return value.isascii() and value.isdigit() and len(value) <= most


def _tenant(value: str) -> int:
    if not _digits(value, 20) or int(value) >= _U64:
        raise ValueError("expected an unsigned 64-bit integer")
    return int(value)


def _when(value: str) -> datetime:
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValueError("expected an RFC 3339 timestamp, e.g. 2026-03-01T00:00:00Z")
    if parsed.tzinfo is None:
        raise ValueError("give a UTC offset (e.g. ...Z)")
    try:
        # In UTC, as every database gets it: 9999-12-31T23:59:59-14:00 is past the year 9999.
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range (years 0001..9999 in UTC)") from None


def _choice(choices: Any) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in choices.values:
            raise ValueError(f"expected one of {', '.join(choices.values)}")
        return value

    return parse


def _sip_code(value: str) -> int:
    if not _digits(value, 3) or not 100 <= int(value) <= 699:
        raise ValueError("expected a SIP status code 100..699")
    return int(value)


def _text(max_length: int) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if len(value) > max_length:
            raise ValueError(f"at most {max_length} characters")
        if "\x00" in value:  # PostgreSQL text cannot hold NUL: no stored value matches it
            raise ValueError("NUL characters are not allowed")
        return value

    return parse


def _bool(value: str) -> bool:
    if value not in ("true", "false"):
        raise ValueError("expected true or false")
    return value == "true"


# parameter -> (parser, ORM lookup, OpenAPI type, description)
_FILTERS: dict[str, tuple[Callable[[str], Any], str, Any, str]] = {
    "tenant": (_tenant, "tenant_id", OpenApiTypes.STR, "Tenant id (the gateway's unsigned 64-bit TenantID)."),
    "started_after": (_when, "started_at__gte", OpenApiTypes.DATETIME, "Start time lower bound, inclusive."),
    "started_before": (_when, "started_at__lt", OpenApiTypes.DATETIME, "Start time upper bound, exclusive."),
    "direction": (_choice(Direction), "direction", OpenApiTypes.STR, "inbound or outbound."),
    "status": (_choice(CallStatus), "status", OpenApiTypes.STR, "Call status."),
    "sip_code": (_sip_code, "sip_code", OpenApiTypes.INT, "Final SIP status code."),
    "hangup_initiator": (_choice(HangupInitiator), "hangup_initiator", OpenApiTypes.STR, "Who hung up."),
    "scenario": (_text(64), "scenario", OpenApiTypes.STR, "Gateway scenario name (exact)."),
    "correlation_id": (_text(255), "correlation_id", OpenApiTypes.STR, "Correlation id (exact)."),
    "has_recording": (_bool, "has_recording", OpenApiTypes.BOOL, "Whether a recording of the call was stored."),
}
_ENUMS = {"direction": Direction, "status": CallStatus, "hangup_initiator": HangupInitiator}


def calls_filter_params(params: Any) -> dict[str, Any]:
    """ORM lookups from query parameters; raises a 400 naming every bad parameter."""
    lookups: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, (parse, lookup, _, _) in _FILTERS.items():
        values = params.getlist(name)
        if not values:
            continue
        if len(values) > 1:
            errors[name] = "give this parameter once"
            continue
        try:
            lookups[lookup] = parse(values[0])
        except ValueError as exc:
            errors[name] = f"{exc}, got {values[0][:100]!r}"
    if errors:
        raise ValidationError(errors)
    return lookups


def calls_apply_filters(qs: QuerySet[Call], params: Any) -> QuerySet[Call]:
    return calls_apply_label_filter(qs.filter(**calls_filter_params(params)), params)


def filter_parameters() -> list[OpenApiParameter]:
    out = []
    for name, (_, _, kind, description) in _FILTERS.items():
        enum = _ENUMS.get(name)
        out.append(
            OpenApiParameter(
                name, kind, OpenApiParameter.QUERY, description=description, enum=enum.values if enum else None
            )
        )
    return [*out, label_parameter()]
