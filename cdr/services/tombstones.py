"""Late events of calls that retention deleted or whose person's data was erased.

``events_ingest`` asks this under the calls' locks, before it stores a batch:

- an event of a call that is not stored and started before its tenant's ``records_purged_before``
  is refused as expired (not stored: recreating even a stub would bring back data the policy
  deleted, and count the call a second time in the rollups, which kept it);
- an event of an erased call (``Call.erased_at``) is masked before it is parsed (``event_mask``),
  so it fingerprints like the masked stored copy: a re-delivery is a duplicate, a new event is
  stored without the person's data.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from cdr.db.queries import one_of
from cdr.lifecycle.events import Event, Rejected
from cdr.models import Call, Tenant


@dataclass
class Gone:
    erased: set[str] = field(default_factory=set)
    # call_id -> why its events are refused
    expired: dict[str, str] = field(default_factory=dict)


def calls_gone(*, items: Iterable[Event | Rejected]) -> Gone:
    """Which of these events' calls are erased, and which are deleted by retention (two queries at most)."""
    items = list(items)
    ids = {i.call_id for i in items if i.call_id}
    gone = Gone()
    if not ids:
        return gone
    stored = dict(Call.objects.filter(one_of("call_id", ids)).values_list("call_id", "erased_at"))
    gone.erased = {c for c, at in stored.items() if at is not None}
    new = [i for i in items if isinstance(i, Event) and i.call_id not in stored and i.call and i.call.tenant_id]
    if not new:
        return gone
    horizons = dict(
        Tenant.objects.filter(id__in={e.call.tenant_id for e in new if e.call}, records_purged_before__isnull=False)
        .order_by()
        .values_list("id", "records_purged_before")
    )
    for e in new:
        assert e.call is not None
        horizon = horizons.get(e.call.tenant_id)
        started = e.call.started_at or e.observed_at
        if horizon is not None and started < horizon:
            gone.expired[e.call_id] = (
                f"expired: call {e.call_id[:80]!r} started before {horizon:%Y-%m-%d}, the record retention "
                f"horizon of tenant {e.call.tenant_id}: its record was deleted"
            )
    return gone
