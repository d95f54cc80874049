"""Metric definitions over additive counters, and one call's contribution to them.

Definitions (also shown on the page and in the API docs):
- attempts: call legs started in the bucket (both directions unless filtered by ``direction``).
- answered: legs with an answer time (``established_at``), whatever their final status.
- failed: legs whose final status is ``failed``.
- ASR = answered / attempts.
- NER = (answered + failed with a user-side SIP code in ``NER_USER_CODES``) / attempts: the
  network completed the call, the user declined, was busy, absent, or dialled a wrong number.
- ACD = mean billable seconds of answered legs; billable minutes = their sum / 60.
- PDD = start to ringing (``pdd_ms``), mean over legs with a ringing time; p95 from a histogram of
  ``PDD_STEP_MS`` buckets (nearest rank, reported as the bucket's upper edge; >= ``PDD_CAP_MS``
  in one overflow bucket reported as the cap).
- transfers attempted / bridged: transfer attempts of inbound legs started in the bucket, and
  those whose outcome is ``bridged``.
- recording coverage = answered legs with at least one recording / answered (a recording
  removed by retention still counts: the leg was recorded).
- peak concurrent: the most legs of the tenant (both directions, whatever the filter) in
  progress at one instant of the bucket; see ``cdr.reports.peaks`` for the exact rule.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# 404 unallocated number, 480 unavailable, 486 busy, 487 cancelled by the caller, 600/603 declined.
NER_USER_CODES = frozenset({404, 480, 486, 487, 600, 603})
PDD_STEP_MS = 100
PDD_CAP_MS = 60_000
PDD_BINS = PDD_CAP_MS // PDD_STEP_MS  # bin PDD_BINS holds everything >= the cap

COUNTERS = (
    "attempts",
    "answered",
    "billable_ms",
    "pdd_n",
    "pdd_ms",
    "transfers",
    "bridged",
    "recorded",
)


def pdd_bin(pdd_ms: int) -> int:
    return min(max(pdd_ms, 0) // PDD_STEP_MS, PDD_BINS)


def pdd_bin_upper_ms(b: int) -> int:
    return PDD_CAP_MS if b >= PDD_BINS else (b + 1) * PDD_STEP_MS


def p95_from_histogram(hist: Mapping[int, int]) -> int | None:
    """Nearest-rank 95th percentile of a PDD histogram, as its bin's upper edge in ms."""
    n = sum(hist.values())
    if n <= 0:
        return None
    rank, seen = math.ceil(0.95 * n), 0
    for b in sorted(hist):
        seen += hist[b]
        if seen >= rank:
            return pdd_bin_upper_ms(b)
    raise AssertionError("unreachable")


def p95_exact_bin(values: Iterable[int]) -> int | None:
    """The same p95 over raw values: the oracle the rollup figure is tested against."""
    ordered = sorted(values)
    if not ordered:
        return None
    return pdd_bin_upper_ms(pdd_bin(ordered[math.ceil(0.95 * len(ordered)) - 1]))


@dataclass(frozen=True)
class Share:
    """What one call leg adds to the rollups: its key dims and its counters."""

    tenant_id: int
    slot: Any  # datetime of the 15-minute UTC slot
    direction: str
    status: str
    sip_code: int  # 0: none
    initiator: str
    answered: bool
    billable_ms: int
    pdd_ms: int | None
    transfers: int
    bridged: int
    recorded: bool
    started_at: Any = None  # datetime: the span counted for peak concurrency
    ended_at: Any = None
    scenario: str = ""
    codec: str = ""

    def key(self) -> tuple[Any, ...]:
        return (self.tenant_id, self.slot, self.direction, self.status, self.sip_code, self.initiator)

    def mix_key(self) -> tuple[Any, ...]:
        """The breakdowns' rollup key (``ReportMix*``)."""
        return (self.tenant_id, self.slot, self.direction, self.scenario, self.codec)

    def counters(self) -> dict[str, int]:
        return {
            "attempts": 1,
            "answered": int(self.answered),
            "billable_ms": self.billable_ms if self.answered else 0,
            "pdd_n": int(self.pdd_ms is not None),
            "pdd_ms": self.pdd_ms or 0,
            "transfers": self.transfers,
            "bridged": self.bridged,
            "recorded": int(self.answered and self.recorded),
        }


@dataclass
class Totals:
    """Summed counters of one bucket (or the whole range), with the metrics derived from them."""

    attempts: int = 0
    answered: int = 0
    failed: int = 0
    ner_ok: int = 0
    billable_ms: int = 0
    pdd_n: int = 0
    pdd_ms: int = 0
    transfers: int = 0
    bridged: int = 0
    recorded: int = 0
    inbound: int = 0
    outbound: int = 0
    pdd_hist: dict[int, int] = field(default_factory=dict)
    peak_concurrent: int = 0

    def add_row(self, *, direction: str, status: str, sip_code: int, counters: Mapping[str, int]) -> None:
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + int(counters[name]))
        attempts = int(counters["attempts"])
        if status == "failed":
            self.failed += attempts
            if sip_code in NER_USER_CODES:
                self.ner_ok += attempts
        if direction == "inbound":
            self.inbound += attempts
        elif direction == "outbound":
            self.outbound += attempts

    def add_pdd(self, b: int, n: int) -> None:
        self.pdd_hist[b] = self.pdd_hist.get(b, 0) + n

    def figures(self) -> dict[str, Any]:
        def ratio(a: int, b: int) -> float | None:
            return round(a / b, 4) if b else None

        return {
            "attempts": self.attempts,
            "answered": self.answered,
            "failed": self.failed,
            "asr": ratio(self.answered, self.attempts),
            "ner": ratio(self.answered + self.ner_ok, self.attempts),
            "acd_s": round(self.billable_ms / self.answered / 1000, 1) if self.answered else None,
            "billable_minutes": round(self.billable_ms / 60000, 2),
            "pdd_mean_ms": round(self.pdd_ms / self.pdd_n) if self.pdd_n else None,
            "pdd_p95_ms": p95_from_histogram(self.pdd_hist),
            "inbound": self.inbound,
            "outbound": self.outbound,
            "transfers_attempted": self.transfers,
            "transfers_bridged": self.bridged,
            "recording_coverage": ratio(self.recorded, self.answered),
            "peak_concurrent": self.peak_concurrent,
        }


FIGURES = tuple(Totals().figures())
