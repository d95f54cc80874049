"""Parse report request parameters (page and API alike) into a ``ReportQuery`` for one visible tenant."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.http import Http404

from cdr.access import tenants_visible_to
from cdr.models import Tenant
from cdr.reports.buckets import BUCKETS, BucketError
from cdr.selectors_reports import ReportQuery

# Default range: the last 30 local days, today included.
DEFAULT_DAYS = 30


def _zone(name: str, param: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BucketError(param, f"unknown time zone {name[:64]!r} (an IANA name such as Europe/Berlin)") from None


def _day(raw: str, param: str) -> date:
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise BucketError(param, f"expected a date YYYY-MM-DD, got {raw[:40]!r}") from None
    if not 1970 <= day.year <= 2200:
        raise BucketError(param, "year out of range 1970..2200")
    return day


def report_tenant(*, user: Any, raw: str | None) -> Tenant:
    """The tenant a report is for; one the user may not see is 404, exactly like an unknown one."""
    visible = tenants_visible_to(user)
    if not raw:
        only = list(visible.order_by("id")[:2])
        if len(only) == 1:
            return only[0]
        raise BucketError("tenant", "required: the id of one of your tenants")
    try:
        tenant_id = int(raw)
    except ValueError:
        raise BucketError("tenant", f"expected a tenant id, got {raw[:40]!r}") from None
    if not 0 <= tenant_id < 1 << 64:
        raise BucketError("tenant", "out of range")
    tenant = visible.filter(id=tenant_id).first()
    if tenant is None:
        raise Http404("No such tenant.")
    return tenant


def report_query_parse(*, user: Any, params: Mapping[str, Any]) -> ReportQuery:
    """``tenant``, ``from``, ``to`` (local dates, both included), ``bucket``, ``tz``, ``direction``.

    Raises ``BucketError`` (a 400 naming the parameter) for bad input and ``Http404`` for a tenant
    the user may not see.
    """
    tenant = report_tenant(user=user, raw=params.get("tenant"))
    tz = _zone(params.get("tz") or tenant.time_zone or "UTC", "tz")
    bucket = params.get("bucket") or "day"
    if bucket not in BUCKETS:
        raise BucketError("bucket", f"expected one of {', '.join(BUCKETS)}")
    today = datetime.now(tz).date()
    end = _day(params["to"], "to") if params.get("to") else today
    start = _day(params["from"], "from") if params.get("from") else end - timedelta(days=DEFAULT_DAYS - 1)
    direction = params.get("direction") or None
    if direction not in (None, "inbound", "outbound"):
        raise BucketError("direction", "expected inbound or outbound")
    return ReportQuery(tenant_id=tenant.id, start=start, end=end, bucket=bucket, tz=tz, direction=direction)
