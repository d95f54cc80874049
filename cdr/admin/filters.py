"""Sidebar filters of the call list. None of them runs a query over calls to build its choices:
choices are static, or the user's own tenants (one small query), or free text."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from cdr.admin.display import zone
from cdr.lifecycle.fields import Invalid
from cdr.lifecycle.labels import label_filter_parse
from cdr.models import Recording, Tenant
from cdr.selectors.access import tenants_visible_to
from cdr.selectors.call_filters import call_filter
from cdr.selectors.calls import calls_with_labels
from cdr.selectors.times import when_parse

# A superuser may see thousands of tenants: past this many the tenant filter becomes a text box.
TENANT_CHOICES_MAX = 50
# Query-string parameters of the keyset pager; a new filter always starts from the first page.
CURSOR_PARAMS = ("before", "after")


def visible_tenants(request: Any) -> list[Tenant]:
    """Up to TENANT_CHOICES_MAX + 1 tenants the user may see, read once per request."""
    cached = getattr(request, "_cdr_visible_tenants", None)
    if cached is None:
        qs = tenants_visible_to(request.user).only("id", "name", "time_zone").order_by("id")
        cached = list(qs[: TENANT_CHOICES_MAX + 1])
        request._cdr_visible_tenants = cached
    return cached


def selected_tenant(request: Any) -> Tenant | None:
    """The one tenant the list is narrowed to (by filter, or because the user has only one)."""
    tenants = visible_tenants(request)
    raw = request.GET.get("tenant")
    if not raw:
        return tenants[0] if len(tenants) == 1 else None
    try:
        wanted = int(raw)
    except ValueError:
        return None
    if not 0 <= wanted < 2**64:  # no tenant has it (and UInt64Field refuses to ask)
        return None
    for tenant in tenants:
        if tenant.id == wanted:
            return tenant
    if len(tenants) > TENANT_CHOICES_MAX:
        return tenants_visible_to(request.user).filter(id=wanted).only("id", "name", "time_zone").first()
    return None


def list_zone(request: Any) -> tzinfo:
    """The zone "today" and typed dates mean: the tenant's when the list shows one tenant, else UTC."""
    tenant = selected_tenant(request)
    return zone(tenant.time_zone) if tenant else UTC


def _other_params(changelist: Any, own: tuple[str, ...]) -> list[tuple[str, str]]:
    """The query string minus this filter's own parameters, as hidden form inputs."""
    skip = set(own) | set(CURSOR_PARAMS)
    return [(k, v) for k, values in changelist.filter_params.items() if k not in skip for v in values]


class TenantFilter(admin.SimpleListFilter):
    title = "tenant"
    parameter_name = "tenant"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        tenants = visible_tenants(request)
        if len(tenants) > TENANT_CHOICES_MAX:
            self.template = "admin/cdr/filters/input.html"
            return [("", "")]
        return [(str(t.id), str(t)) for t in tenants]

    def has_output(self) -> bool:
        return bool(self.lookup_choices) and len(visible_tenants(self.request)) != 1

    def choices(self, changelist: Any) -> Iterator[dict[str, Any]]:
        if self.template == "admin/cdr/filters/input.html":
            yield {"value": self.value() or "", "hidden": _other_params(changelist, (self.parameter_name,))}
            return
        yield from super().choices(changelist)

    def queryset(self, request: Any, queryset: QuerySet) -> QuerySet:
        if not self.value():
            return queryset
        try:
            return queryset.filter(tenant_id=int(self.value()))
        except ValueError:
            raise IncorrectLookupParameters("tenant must be a number") from None


class StartedFilter(admin.ListFilter):
    """Start time: today / last 7 days / last 30 days, or a custom start and end.

    ``start`` and ``end`` are dates or date-times (``2026-03-29``, ``2026-03-29T08:00``,
    ``2026-03-29T08:00:00Z``) read by ``cdr.selectors.times.when_parse``: without an offset in the
    list's zone; a date-only ``end`` includes that whole day.
    """

    title = "start time"
    template = "admin/cdr/filters/date_range.html"
    parameters = ("range", "start", "end")
    presets = (("today", "Today"), ("7d", "Last 7 days"), ("30d", "Last 30 days"))

    def __init__(self, request: Any, params: dict[str, list[str]], model: Any, model_admin: Any):
        super().__init__(request, params, model, model_admin)
        for name in self.parameters:
            if name in params:
                self.used_parameters[name] = params.pop(name)[-1]

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str]:
        return list(self.parameters)

    def bounds(self, now: datetime | None = None) -> tuple[datetime | None, datetime | None]:
        now = now or timezone.now()
        tz = list_zone(self.request)
        preset = self.used_parameters.get("range")
        if preset == "today":
            midnight = datetime.combine(now.astimezone(tz).date(), time(), tzinfo=tz)
            return midnight, None
        if preset in ("7d", "30d"):
            return now - timedelta(days=int(preset[:-1])), None
        if preset:
            raise IncorrectLookupParameters(f"unknown range {preset!r}")
        return self._parse("start", tz, end=False), self._parse("end", tz, end=True)

    def _parse(self, name: str, tz: tzinfo, *, end: bool) -> datetime | None:
        raw = (self.used_parameters.get(name) or "").strip()
        if not raw:
            return None
        try:
            return when_parse(raw, upper=end, zone=tz)  # the API's and cdr_export's grammar
        except ValueError as exc:
            raise IncorrectLookupParameters(f"{name}: {exc}: {raw[:40]!r}") from None

    def queryset(self, request: Any, queryset: QuerySet) -> QuerySet:
        since, until = self.bounds()
        if since is not None:
            queryset = queryset.filter(started_at__gte=since)
        if until is not None:
            queryset = queryset.filter(started_at__lt=until)
        return queryset

    def choices(self, changelist: Any) -> Iterator[dict[str, Any]]:
        current = self.used_parameters.get("range")
        custom = not current and any(self.used_parameters.get(p) for p in ("start", "end"))
        yield {
            "selected": not current and not custom,
            "query_string": changelist.get_query_string(remove=[*self.parameters, *CURSOR_PARAMS]),
            "display": "Any time",
        }
        for key, label in self.presets:
            yield {
                "selected": current == key,
                "query_string": changelist.get_query_string({"range": key}, ["start", "end", *CURSOR_PARAMS]),
                "display": label,
            }
        yield {
            "form": True,
            "selected": custom,
            "start": self.used_parameters.get("start", ""),
            "end": self.used_parameters.get("end", ""),
            "hidden": _other_params(changelist, self.parameters),
        }


class InputFilter(admin.SimpleListFilter):
    """An exact-value text box: for values with too many choices to list."""

    template = "admin/cdr/filters/input.html"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [("", "")]  # has_output() needs one; the template shows a text box instead

    def choices(self, changelist: Any) -> Iterator[dict[str, Any]]:
        yield {"value": self.value() or "", "hidden": _other_params(changelist, (self.parameter_name,))}


class ScenarioFilter(InputFilter):
    title = "scenario"
    parameter_name = "scenario"

    def queryset(self, request: Any, queryset: QuerySet) -> QuerySet:
        return queryset.filter(scenario=self.value()) if self.value() else queryset


class SipCodeFilter(InputFilter):
    title = "SIP code"
    parameter_name = "sip_code"

    def queryset(self, request: Any, queryset: QuerySet) -> QuerySet:
        if not self.value():
            return queryset
        try:
            code = int(self.value())
        except ValueError:
            raise IncorrectLookupParameters("sip_code must be a number") from None
        return queryset.filter(sip_code=code)


class SipClassFilter(admin.SimpleListFilter):
    """``sip_class=4xx``: the API's filter (``cdr.selectors.call_filters``)."""

    title = "SIP response class"
    parameter_name = "sip_class"

    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [(c, c) for c in call_filter("sip_class").choices]

    def queryset(self, request: Any, queryset: QuerySet) -> QuerySet:
        if not self.value():
            return queryset
        spec = call_filter("sip_class")
        try:
            return queryset.filter(spec.condition(spec.parse(self.value(), UTC)))
        except ValueError as exc:
            raise IncorrectLookupParameters(f"sip_class: {exc}") from None


class YesNoFilter(admin.SimpleListFilter):
    def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def condition(self) -> Exists:
        raise NotImplementedError

    def queryset(self, request: Any, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(self.condition())
        if self.value() == "no":
            return queryset.filter(~self.condition())
        return queryset


class TransferredFilter(YesNoFilter):
    """Inbound legs with at least one transfer attempt (``Call.transferred``, partial indexes)."""

    title = "transferred"
    parameter_name = "transferred"

    def condition(self) -> Q:
        return Q(transferred=True)


class HasRecordingFilter(YesNoFilter):
    """Calls with a stored (not purged) recording: probes the recordings' (call_id, sha256) index."""

    title = "has recording"
    parameter_name = "recorded"

    def condition(self) -> Exists:
        # Linked to the call: a gateway's recording of a call it may not report is not.
        return Exists(Recording.objects.filter(call_leg_id=OuterRef("pk"), deleted_at__isnull=True))


class LabelFilter(InputFilter):
    """``key=value``: calls carrying that label (exact), on the GIN index on PostgreSQL."""

    title = "label (key=value)"
    parameter_name = "label"

    def queryset(self, request: Any, queryset: QuerySet) -> QuerySet:
        if not self.value():
            return queryset
        try:
            labels = label_filter_parse([self.value().strip()])
        except Invalid as exc:
            raise IncorrectLookupParameters(str(exc)) from None
        return calls_with_labels(queryset, labels)
