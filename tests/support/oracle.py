"""Compare stored call records with what the gateway simulator says they must be."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from cdr.models import Call, Transfer
from cdr.simulator import Expected


def mismatches(expected: Mapping[str, Expected], *, may_expire: Collection[str] = ()) -> list[str]:
    """Every difference between the stored calls and the oracle; empty when all are right.

    ``may_expire``: legs the oracle leaves open that the deployment's sweeper (``cdr.calls_expire``)
    closes once they are old enough; stored as ``expired``, only how they ended may differ.
    """
    problems: list[str] = []
    stored = {c.call_id: c for c in Call.objects.filter(call_id__in=list(expected))}
    transfers: dict[str, list[tuple[str, str, bool]]] = {}
    for t in (
        Transfer.objects.filter(inbound__call_id__in=list(expected))
        .order_by("inbound_id", "attempt")
        .values_list("inbound__call_id", "target_uri", "outbound_call_id", "outcome")
    ):
        transfers.setdefault(t[0], []).append((t[1], t[2], t[3] == "bridged"))
    for call_id, want in expected.items():
        got = stored.get(call_id)
        if got is None:
            problems.append(f"{call_id}: missing")
            continue
        pairs = {
            "direction": (got.direction, want.direction),
            "scenario": (got.scenario, want.scenario),
            "correlation_id": (got.correlation_id, want.correlation_id),
            "tenant_id": (got.tenant_id, want.tenant_id),
            "started_at": (got.started_at, want.started_at),
            "status": (got.status, str(want.status)),
            "established": (got.established_at is not None, want.established),
            "ended_at": (got.ended_at, want.ended_at),
            "hangup_initiator": (got.hangup_initiator or None, want.hangup_initiator),
            "sip_code": (got.sip_code, want.sip_code),
            "hangup_reason": (got.hangup_reason if want.hangup_reason is not None else None, want.hangup_reason),
            "labels": (got.labels, want.labels),
            "transfers": (
                transfers.get(call_id, []),
                [(t.target_uri, t.agent_call_id, t.bridged) for t in want.transfers],
            ),
        }
        if call_id in may_expire and got.status == "expired":
            for name in ("status", "ended_at", "hangup_initiator"):
                del pairs[name]
        problems += [f"{call_id}: {name} {g!r} != expected {w!r}" for name, (g, w) in pairs.items() if g != w]
    extra = Call.objects.exclude(call_id__in=list(expected)).count()
    if extra:
        problems.append(f"{extra} unexpected calls stored")
    return problems
