"""Which calls of a tenant an erasure request names: by Call-ID, remote address or label.

A Call-ID names the call and its agent legs (``correlation_id``): those of the tenant, and those
still of tenant 0 (a leg whose gateway may not report the tenant keeps 0 instead of inheriting
it), as record retention deletes them with the call.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from cdr.models import Call
from cdr.selectors.calls import calls_with_labels, tenant_legs


@dataclass(frozen=True, slots=True)
class ErasureSelector:
    kind: str  # "call_id" | "remote_addr" | "label" ("key=value")
    value: str


def _remote(addr: str) -> Q:
    # Stored as the gateway reports it, "host:port" ("[v6]:port"): the address alone names every port.
    return Q(remote_addr=addr) | Q(remote_addr__startswith=f"{addr}:") | Q(remote_addr__startswith=f"[{addr}]:")


def erasure_calls(*, tenant_id: int, selector: ErasureSelector) -> Iterator[str]:
    """Call-IDs of ``tenant_id``'s calls the selector names (indexed: call_id, cdr_call_remote,
    cdr_call_labels on PostgreSQL)."""
    calls: QuerySet[Call] = Call.objects.filter(tenant_id=tenant_id)
    if selector.kind == "call_id":
        calls = Call.objects.filter(tenant_legs(tenant_id)).filter(
            Q(call_id=selector.value) | Q(correlation_id=selector.value)
        )
    elif selector.kind == "remote_addr":
        calls = calls.filter(_remote(selector.value))
    elif selector.kind == "label":
        # erasure_selector validated the key: exact key and value, as every label filter matches.
        key, _, value = selector.value.partition("=")
        calls = calls_with_labels(calls, {key: value})
    else:
        raise ValueError(f"unknown selector {selector.kind!r}")
    return calls.order_by("started_at", "id").values_list("call_id", flat=True).iterator(chunk_size=2000)
