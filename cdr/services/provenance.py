"""Which gateway delivered an event, and whether that lets the event count for a call's tenant.

The HTTP edge stamps each event it publishes with ``gateway_id``; events of the in-process sink
and the sweeper carry none and are trusted. The edge refuses what it can see (a tenant the
gateway may not report, a call already stored under one); events can arrive before the call
they attach to, so the store applies the same rule when it derives records: an event delivered
by a gateway counts only for calls whose tenant that gateway may report.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from cdr.lifecycle.state import CallState
from cdr.models import Gateway

log = logging.getLogger("cdr.ingest")


class GatewayTenants:
    """The tenants the gateways of one batch may report: one query per batch, none without gateways.

    A gateway's current ``tenant_ids`` decide (a deleted gateway may report nothing), so editing
    them takes effect the next time a call is refreshed.
    """

    def __init__(self) -> None:
        self._gateways: dict[int, tuple[str, frozenset[int]]] = {}
        self._warned: set[tuple[int, str, int]] = set()
        # Calls some of whose events did not count: their transfers are derived again too.
        self.refused_calls: set[str] = set()
        # (gateway, call) whose recording did not count: logged once per batch.
        self.recordings_warned: set[tuple[int, str]] = set()

    def load(self, folds: Iterable[Mapping[int, CallState]]) -> None:
        """The gateways of these calls, held as states by counting scope (``cdr.lifecycle.state``)."""
        ids = {scope for parts in folds for scope in parts if scope}
        self._gateways.update(gateways_tenants(ids - self._gateways.keys()))

    def _refusing(self, parts: Mapping[int, CallState], tenant_id: int) -> list[int]:
        """The gateways of a call's tenant-0 events that may not report ``tenant_id``.

        An event naming a tenant was checked against it at the edge, and is what gives the call
        its tenant: it always counts (its counting scope is 0, with the sink's and the sweeper's).
        A non-zero scope holds exactly the tenant-0 events of its gateway.
        """
        return [g for g in parts if g and tenant_id not in self._gateways[g][1]]

    def _warn(self, gateway_id: int, call_id: str, tenant_id: int, message: str, *args: object) -> None:
        # Once per batch: a call is refreshed again for each of its events and transfers.
        if (gateway_id, call_id, tenant_id) not in self._warned:
            self._warned.add((gateway_id, call_id, tenant_id))
            log.warning(message, self._gateways[gateway_id][0], tenant_id, call_id, *args)

    def may_inherit(self, call_id: str, parts: Mapping[int, CallState], tenant_id: int, parent_id: str) -> bool:
        """Whether a tenant-0 leg may take its correlation parent's tenant.

        Only if every gateway that delivered one of its events may report that tenant.
        """
        refusing = self._refusing(parts, tenant_id)
        for gateway_id in refusing:
            self._warn(
                gateway_id,
                call_id,
                tenant_id,
                "gateway %r may not report tenant %d: leg %s keeps tenant 0 instead of inheriting it from %s",
                parent_id,
            )
        return not refusing

    def counted(self, call_id: str, parts: Mapping[int, CallState], tenant_id: int) -> dict[int, CallState]:
        """The parts of a call of ``tenant_id`` that count for it; the others' events stay in the log only.

        Only tenant-0 events (and bridges, which name no tenant) can be left out, so the call keeps
        the tenant its own events give it. The parts are dropped at each refresh, never merged
        away: a gateway allowed the tenant later makes its events count again.
        """
        refusing = self._refusing(parts, tenant_id)
        if not refusing:
            return dict(parts)
        for gateway_id in refusing:
            self._warn(
                gateway_id,
                call_id,
                tenant_id,
                "gateway %r may not report tenant %d: its tenant-0 events of call %s (%s) stay in the log, not counted",
                ", ".join(sorted(parts[gateway_id].types)),
            )
        self.refused_calls.add(call_id)
        return {g: s for g, s in parts.items() if g not in refusing}


def gateways_tenants(gateway_ids: Iterable[int]) -> dict[int, tuple[str, frozenset[int]]]:
    """(name, current ``tenant_ids``) of these gateways: one query, none without ids.

    A gateway missing from the table (deleted) may report nothing.
    """
    ids = set(gateway_ids)
    if not ids:
        return {}
    rows = Gateway.objects.filter(pk__in=ids).order_by().values_list("pk", "name", "tenant_ids")
    out = {pk: (name, frozenset(tenant_ids)) for pk, name, tenant_ids in rows}
    out.update((pk, (f"#{pk} (deleted)", frozenset())) for pk in ids - out.keys())
    return out


def recording_counts(
    gateways: dict[int, tuple[str, frozenset[int]]],
    gateway_id: int | None,
    *,
    call_id: str,
    tenant_id: int,
    warned: set[tuple[int, str]] | None = None,
) -> bool:
    """Whether a recording may be linked to (and mark as recorded) a call of ``tenant_id``.

    One posted by a gateway counts only if that gateway may report the call's tenant: it can
    arrive before the call, when the edge cannot see whose call it is. Tenant 0 is not a grant:
    the recording waits (unlinked, at its own tenant) until the call's tenant is resolved.
    Logged once per (gateway, call) in ``warned``.
    """
    if gateway_id is None:
        return True
    name, allowed = gateways[gateway_id]
    if tenant_id in allowed:
        return True
    # A call of tenant 0 is not resolved yet: its recordings wait, nothing to report.
    if tenant_id and (warned is None or (gateway_id, call_id) not in warned):
        if warned is not None:
            warned.add((gateway_id, call_id))
        log.warning(
            "gateway %r may not report tenant %d: its recording of call %s stays unlinked, at its own tenant",
            name,
            tenant_id,
            call_id,
        )
    return False


def event_scope(payload: Any) -> int:
    """Who delivered a copy of an event, the second half of its log key (``CallEvent.scope``).

    The gateway the HTTP edge stamped on it; 0 for the in-process sink and the sweeper. Another
    gateway's identical content is its own copy, counted (or not) for that gateway only, so it
    can neither pre-empt nor absorb this one.
    """
    gateway_id = payload.get("gateway_id") if isinstance(payload, dict) else None
    if isinstance(gateway_id, int) and not isinstance(gateway_id, bool) and 0 < gateway_id < 1 << 63:
        return gateway_id
    return 0
