"""Which tenant a Call-ID belongs to: settled once, under the call's lock, by commit order.

The fold used to take the earliest tenant by ``observed_at``, which the client sets: two gateways
posting the same new Call-ID at once were both accepted (the edge saw no stored call) and the
record took the earlier clock's tenant with the other's data. Now the first committed event naming
a tenant binds the call (``CallOwner``); the binding is read under the lock every binder takes
(``calls_lock`` in ``events_ingest``), so it is what is committed, and queued HTTP batches are
checked again when they are drained. Within one stored batch (a drain joins several requests'
batches in queue order) the first event in delivery order binds.

An event naming another tenant for an owned call never changes it: it is kept in the log as
rejected, with the reason. A call stored with a tenant but no binding (an agent leg that took its
parent's tenant, a call stored before bindings existed) is owned by that tenant too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db.models import IntegerField, Value
from django.utils import timezone

from cdr.db.bulk import bulk_upsert
from cdr.db.queries import one_of
from cdr.lifecycle.events import Event
from cdr.models import Call, CallOwner

log = logging.getLogger("cdr.ingest")


def _owners(call_ids: set[str]) -> dict[str, int]:
    """Bound tenants of these calls, else their stored non-zero tenant: one query."""
    bound = CallOwner.objects.filter(one_of("call_id", call_ids)).values_list(
        "call_id", "tenant_id", Value(0, output_field=IntegerField())
    )
    stored = (
        Call.objects.filter(one_of("call_id", call_ids))
        .exclude(tenant_id=0)
        .values_list("call_id", "tenant_id", Value(1, output_field=IntegerField()))
    )
    out: dict[str, int] = {}
    for call_id, tenant_id, _rank in sorted(bound.union(stored, all=True), key=lambda r: r[2]):
        out.setdefault(call_id, tenant_id)
    return out


def owners_bind(*, events: Iterable[Event]) -> dict[str, str]:
    """Bind the unowned calls these events name a tenant for; the reasons of those refused, by fingerprint.

    Call under the locks of every call the events name (``events_ingest`` holds them), in delivery
    order. The refused events are to be logged as rejected instead of accepted (any copy of the
    same content names the same tenant for the same call: the verdict is the content's).
    """
    named = [e for e in events if e.call is not None and e.call.tenant_id]
    if not named:
        return {}
    owners = _owners({e.call_id for e in named})
    new: dict[str, dict[str, object]] = {}
    refused: dict[str, str] = {}
    now = timezone.now()
    gateways: set[object] = set()
    for e in named:
        assert e.call is not None
        owner = owners.get(e.call_id)
        if owner is None:
            owners[e.call_id] = owner = e.call.tenant_id
            new[e.call_id] = {
                "call_id": e.call_id,
                "tenant_id": owner,
                "gateway_id": e.payload.get("gateway_id"),
                "bound_at": now,
            }
        elif owner != e.call.tenant_id:
            refused[e.fingerprint] = (
                f"call.tenant_id: call {e.call_id[:80]!r} belongs to tenant {owner} (bound first), "
                f"not {e.call.tenant_id}"
            )
            gateways.add(e.payload.get("gateway_id", "none"))
    # Rows as dicts, not model instances: a new call is the common case, one row per call.
    bulk_upsert(CallOwner, sorted(new.values(), key=lambda r: str(r["call_id"])), conflict=["call_id"])
    if refused:
        log.warning(
            "refused %d events naming another tenant for calls already owned (gateway ids %s), e.g. %s",
            len(refused),
            ", ".join(sorted(map(str, gateways))),
            next(iter(refused.values())),
        )
    return refused
