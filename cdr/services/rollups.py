"""Keep report rollups current as call rows change: apply each leg's new share minus its old one.

The transaction that changes legs (``calls_refresh``, ``recording_store``) only marks them
pending (``rollups_mark``); ``rollups_catch_up`` (a periodic task, and every report before it
reads) applies pending legs in large batches. The old share is the leg's ``ReportShare`` ledger
row, so however often a leg is recomputed (a duplicated, late or reordered event, expiry, a
recording arriving later) or applied (two catch-ups racing) the rollups hold its current
contribution exactly once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, fields
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from cdr.db.bulk import bulk_upsert
from cdr.db.locks import calls_lock
from cdr.db.queries import one_of
from cdr.models import (
    Call,
    ReportDay,
    ReportHour,
    ReportMixDay,
    ReportMixHour,
    ReportMixSlot,
    ReportPdd,
    ReportPddDay,
    ReportPddHour,
    ReportPending,
    ReportShare,
    ReportSlot,
    Transfer,
    TransferOutcome,
)
from cdr.reports.buckets import slot_of
from cdr.reports.metrics import COUNTERS, Share, pdd_bin
from cdr.services.peaks import peaks_mark

_SHARE_FIELDS = [f.name for f in fields(Share)]
_ADD = "{old} + {new}"


def _current(call_ids: set[str]) -> dict[int, Share]:
    calls = list(
        Call.objects.filter(one_of("call_id", call_ids)).values_list(
            "id",
            "call_id",
            "tenant_id",
            "started_at",
            "direction",
            "status",
            "sip_code",
            "hangup_initiator",
            "established_at",
            "billable_ms",
            "pdd_ms",
            "ended_at",
            "has_recording",
            "scenario",
            "codec",
        )
    )
    pks = [c[0] for c in calls]
    transfers = {
        pk: (n, b)
        for pk, n, b in Transfer.objects.filter(one_of("inbound_id", pks))
        .values("inbound_id")
        .annotate(n=Count("id"), b=Count("id", filter=Q(outcome=TransferOutcome.BRIDGED)))
        .values_list("inbound_id", "n", "b")
        .order_by()
    }
    shares = {}
    # has_recording, not any Recording row of the call id: a gateway's recording of a call of a tenant
    # it may not report does not make the call recorded (cdr.services.provenance).
    for (
        pk,
        _,
        tenant,
        started,
        direction,
        status,
        code,
        initiator,
        established,
        billable,
        pdd,
        ended,
        rec,
        scenario,
        codec,
    ) in calls:
        n, b = transfers.get(pk, (0, 0))
        shares[pk] = Share(
            tenant_id=tenant,
            slot=slot_of(started),
            direction=direction,
            status=status,
            sip_code=code or 0,
            initiator=initiator or "",
            answered=established is not None,
            billable_ms=billable or 0,
            pdd_ms=pdd,
            transfers=n,
            bridged=b,
            recorded=rec,
            started_at=started,
            ended_at=ended,
            scenario=scenario,
            codec=codec,
        )
    return shares


def _deltas(
    pairs: Iterable[tuple[Share | None, Share | None]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    slots: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    mixes: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))
    pdds: dict[tuple[Any, ...], int] = defaultdict(int)
    for old, new in pairs:
        for share, sign in ((old, -1), (new, 1)):
            if share is None:
                continue
            for counters in (slots[share.key()], mixes[share.mix_key()]):
                for name, value in share.counters().items():
                    counters[name] += sign * value
            if share.pdd_ms is not None:
                pdds[(share.tenant_id, share.slot, share.direction, pdd_bin(share.pdd_ms))] += sign
    dims = ("tenant_id", "slot", "direction", "status", "sip_code", "initiator")
    # Sorted: two transactions touching the same rollup rows lock them in the same order.
    slot_rows = [{**dict(zip(dims, k, strict=True)), **c} for k, c in sorted(slots.items()) if any(c.values())]
    pdd_rows = [
        {"tenant_id": k[0], "slot": k[1], "direction": k[2], "bin": k[3], "n": n} for k, n in sorted(pdds.items()) if n
    ]
    mix_dims = ("tenant_id", "slot", "direction", "scenario", "codec")
    mix_rows = [{**dict(zip(mix_dims, k, strict=True)), **c} for k, c in sorted(mixes.items()) if any(c.values())]
    return slot_rows, pdd_rows, mix_rows


def _coarser(rows: list[dict[str, Any]], column: str, counters: tuple[str, ...]) -> list[dict[str, Any]]:
    """Slot rows summed per UTC hour (``column="hour"``) or day (``"day"``)."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        at = row["slot"].replace(minute=0) if column == "hour" else row["slot"].date()
        coarse = {k: v for k, v in row.items() if k != "slot"} | {column: at}
        key = tuple(v for k, v in coarse.items() if k not in counters)
        if key in out:
            for c in counters:
                out[key][c] += row[c]
        else:
            out[key] = coarse
    return [r for _, r in sorted(out.items()) if any(r[c] for c in counters)]


_SLOT_KEY = ["tenant_id", "direction", "status", "sip_code", "initiator"]
_MIX_KEY = ["tenant_id", "direction", "scenario", "codec"]
_PDD_KEY = ["tenant_id", "direction", "bin"]


def rollups_apply(
    slot_rows: list[dict[str, Any]], pdd_rows: list[dict[str, Any]], mix_rows: list[dict[str, Any]]
) -> None:
    """Add counter deltas to the slot rollups and their hour and day sums (one statement per table)."""
    add = dict.fromkeys(COUNTERS, _ADD)
    for model, column in ((ReportSlot, "slot"), (ReportHour, "hour"), (ReportDay, "day")):
        rows = slot_rows if column == "slot" else _coarser(slot_rows, column, COUNTERS)
        bulk_upsert(model, rows, conflict=[column, *_SLOT_KEY], update=COUNTERS, merge=add)
    for model, column in ((ReportMixSlot, "slot"), (ReportMixHour, "hour"), (ReportMixDay, "day")):
        rows = mix_rows if column == "slot" else _coarser(mix_rows, column, COUNTERS)
        bulk_upsert(model, rows, conflict=[column, *_MIX_KEY], update=COUNTERS, merge=add)
    for model, column in ((ReportPdd, "slot"), (ReportPddHour, "hour"), (ReportPddDay, "day")):
        rows = pdd_rows if column == "slot" else _coarser(pdd_rows, column, ("n",))
        bulk_upsert(model, rows, conflict=[column, *_PDD_KEY], update=["n"], merge={"n": _ADD})


def _span(share: Share) -> tuple[int, Any, Any]:
    return share.tenant_id, share.started_at, share.ended_at


def rollups_refresh(*, call_ids: Iterable[str]) -> int:
    """Bring the rollups up to date with these legs' current rows; returns how many legs changed.

    Must run inside the transaction that changed the legs. The per-call locks (reentrant: the
    ingest path already holds most of them) make the ledger read-modify-write safe against a
    concurrent batch refreshing the same leg.
    """
    call_ids = {c for c in call_ids if c}
    if not call_ids:
        return 0
    calls_lock(call_ids)
    new = _current(call_ids)
    old = {
        row["call_id"]: Share(**{f: row[f] for f in _SHARE_FIELDS})
        for row in ReportShare.objects.filter(one_of("call_id", new)).values("call_id", *_SHARE_FIELDS)
    }
    changed = [(pk, old.get(pk), share) for pk, share in new.items() if old.get(pk) != share]
    if not changed:
        return 0
    rollups_apply(*_deltas((o, n) for _, o, n in changed))
    moved = [(o, n) for _, o, n in changed if o is None or _span(o) != _span(n)]
    peaks_mark(spans=[_span(s) for pair in moved for s in pair if s is not None and s.started_at is not None])
    bulk_upsert(
        ReportShare,
        [{"call_id": pk, **asdict(share)} for pk, _, share in sorted(changed, key=lambda c: c[0])],
        conflict=["call_id"],
        update=_SHARE_FIELDS,
    )
    return len(changed)


def rollups_mark(*, call_ids: Iterable[str]) -> None:
    """Queue these legs for the rollups, in the caller's transaction (one statement).

    Call holding these legs' locks (``calls_lock``, taken before the legs changed): they order
    this against a catch-up applying the same legs, which reads a leg only while holding its
    lock, so a change committed after that read is marked after it deletes the mark, never
    swallowed by it. Taking a lock here, after rows were written, could deadlock.
    """
    call_ids = sorted({c for c in call_ids if c})
    if not call_ids:
        return
    now = timezone.now()
    bulk_upsert(ReportPending, [{"call_id": c, "marked_at": now} for c in call_ids], conflict=["call_id"])


def rollups_catch_up(*, limit: int = 5000, max_rounds: int = 20) -> int:
    """Apply pending legs to the rollups, ``limit`` per transaction; returns how many were applied.

    Safe to run concurrently with ingestion and with itself (legs are locked, the ledger makes a
    second application a no-op).
    """
    applied = 0
    for _ in range(max_rounds):
        # Read outside the transaction: nothing pending (the common case) costs one query.
        ids = list(ReportPending.objects.order_by("call_id").values_list("call_id", flat=True)[:limit])
        if not ids:
            break
        with transaction.atomic():
            rollups_refresh(call_ids=ids)
            ReportPending.objects.filter(one_of("call_id", ids)).delete()
        applied += len(ids)
        if len(ids) < limit:
            break
    return applied
