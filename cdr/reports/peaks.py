"""Peak concurrent legs per 15-minute UTC slot, by a sweep over leg spans (no Django imports).

Definition (also in the page and API docs): a leg occupies [started_at, ended_at), at most
``MAX_LEG`` long; a leg not ended yet counts as ongoing for ``MAX_LEG`` from its start (so the
figure is a function of the stored rows, not of the clock). A slot's peak is the largest number of
a tenant's legs occupying one instant of the slot; a bucket's peak is the largest of its slots'.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from cdr.reports.buckets import SLOT, slot_of

MAX_LEG = timedelta(hours=24)


def leg_stop(started_at: datetime, ended_at: datetime | None) -> datetime:
    cap = started_at + MAX_LEG
    return cap if ended_at is None else min(ended_at, cap)


def leg_slots(started_at: datetime, ended_at: datetime | None) -> list[datetime]:
    """The slots whose peak this leg can change."""
    stop = leg_stop(started_at, ended_at)
    at, last = slot_of(started_at), slot_of(max(stop - timedelta(microseconds=1), started_at))
    out = []
    while at <= last:
        out.append(at)
        at += SLOT
    return out


def peaks_sweep(legs: Iterable[tuple[datetime, datetime | None]]) -> Iterator[tuple[datetime, int]]:
    """(slot, peak) for every slot with a leg in it; ``legs`` (start, end) sorted by start."""
    stops: list[datetime] = []
    slot: datetime | None = None
    peak = 0

    def close(until: datetime | None) -> Iterator[tuple[datetime, int]]:
        # Emit the current slot, then the slots before ``until`` that ongoing legs still occupy.
        nonlocal slot, peak
        assert slot is not None
        while True:
            if peak:
                yield slot, peak
            slot += SLOT
            while stops and stops[0] <= slot:
                heapq.heappop(stops)
            peak = len(stops)
            if not stops or (until is not None and slot >= until):
                return

    for start, end in legs:
        stop = leg_stop(start, end)
        if stop <= start:
            continue
        here = slot_of(start)
        if slot is not None and here > slot:
            yield from close(here)
        if slot is None or here > slot:
            slot = here
            while stops and stops[0] <= slot:
                heapq.heappop(stops)
            peak = len(stops)
        while stops and stops[0] <= start:
            heapq.heappop(stops)
        heapq.heappush(stops, stop)
        peak = max(peak, len(stops))
    if slot is not None:
        yield from close(None)
