"""Reports under test: an oracle and the traffic to check the rollups with.

``raw_summary`` computes the report figures straight from raw Call/Transfer/Recording rows, by brute
force. It is independent of the rollups and the ledger: only the bucket edges and the metric definitions
(``cdr.reports``) are shared with the code under test. ``assert_rollups_match_raw`` holds the rollups
against it; ``EventCollector`` and ``ingest_messily`` make and deliver the traffic.
"""

import random
import time
from collections import defaultdict
from datetime import date
from zoneinfo import ZoneInfo

from django.core.management import call_command

from cdr.lifecycle.encode import encode_hook_call
from cdr.models import (
    Call,
    Recording,
    ReportDay,
    ReportHour,
    ReportMixDay,
    ReportMixHour,
    ReportMixSlot,
    ReportPdd,
    ReportPddDay,
    ReportPddHour,
    ReportPeak,
    ReportSlot,
    Transfer,
)
from cdr.reports.buckets import bucket_edges, bucket_index
from cdr.reports.metrics import COUNTERS, NER_USER_CODES, p95_exact_bin
from cdr.reports.peaks import leg_stop
from cdr.reports.tables import BREAKDOWN_FIGURES, BREAKDOWNS
from cdr.selectors.reports import ReportQuery
from cdr.services import events_ingest
from cdr.services.peaks import report_peaks_refresh
from cdr.services.reports import report_summary_fresh
from cdr.services.rollups import rollups_catch_up


def raw_summary(q):
    labelled = bucket_edges(start=q.start, end=q.end, bucket=q.bucket, tz=q.tz)
    edges = [at for _, at in labelled]
    calls = Call.objects.filter(tenant_id=q.tenant_id, started_at__gte=edges[0], started_at__lt=edges[-1])
    if q.direction:
        calls = calls.filter(direction=q.direction)
    calls = list(calls)
    recorded = set(Recording.objects.values_list("call_id", flat=True))
    transfers = defaultdict(list)
    for t in Transfer.objects.all():
        transfers[t.inbound_id].append(t.outcome)
    spans = [
        (s, leg_stop(s, e)) for s, e in Call.objects.filter(tenant_id=q.tenant_id).values_list("started_at", "ended_at")
    ]
    spans = [(s, e) for s, e in spans if e > s]

    def peak(lo, hi):
        # The count can only rise at a start: the bucket's first instant and its starts are the candidates.
        points = [lo] + [s for s, _ in spans if lo < s < hi]
        return max((sum(s <= p < e for s, e in spans) for p in points), default=0)

    groups = defaultdict(list)
    for c in calls:
        groups[bucket_index(edges, c.started_at)].append(c)

    def figures(legs, lo, hi):
        answered = [c for c in legs if c.established_at is not None]
        failed = [c for c in legs if c.status == "failed"]
        ner_ok = [c for c in failed if c.sip_code in NER_USER_CODES]
        pdds = [c.pdd_ms for c in legs if c.pdd_ms is not None]
        billable = sum(c.billable_ms or 0 for c in answered)

        def ratio(a, b):
            return round(a / b, 4) if b else None

        return {
            "attempts": len(legs),
            "answered": len(answered),
            "failed": len(failed),
            "asr": ratio(len(answered), len(legs)),
            "ner": ratio(len(answered) + len(ner_ok), len(legs)),
            "acd_s": round(billable / len(answered) / 1000, 1) if answered else None,
            "billable_minutes": round(billable / 60000, 2),
            "pdd_mean_ms": round(sum(pdds) / len(pdds)) if pdds else None,
            "pdd_p95_ms": p95_exact_bin(pdds),
            "inbound": sum(c.direction == "inbound" for c in legs),
            "outbound": sum(c.direction == "outbound" for c in legs),
            "transfers_attempted": sum(len(transfers[c.id]) for c in legs),
            "transfers_bridged": sum(transfers[c.id].count("bridged") for c in legs),
            "recording_coverage": ratio(sum(c.call_id in recorded for c in answered), len(answered)),
            "peak_concurrent": peak(lo, hi),
        }

    by_code, by_initiator = defaultdict(int), defaultdict(int)
    for c in calls:
        by_code[c.sip_code or 0] += 1
        by_initiator[c.hangup_initiator or ""] += 1

    def breakdown(dim):
        groups = defaultdict(list)
        for c in calls:
            groups[getattr(c, dim)].append(c)
        rows = [(key, figures(legs, edges[0], edges[-1])) for key, legs in groups.items()]
        rows.sort(key=lambda r: (-r[1]["attempts"], r[0]))
        return [{dim: key, **{f: fig[f] for f in BREAKDOWN_FIGURES}} for key, fig in rows]

    return {
        "buckets": [figures(groups[i], edges[i], edges[i + 1]) for i in range(len(edges) - 1)],
        "total": figures(calls, edges[0], edges[-1]),
        "sip_codes": [{"sip_code": c or None, "legs": n} for c, n in sorted(by_code.items())],
        "initiators": [{"initiator": k or "none", "legs": n} for k, n in sorted(by_initiator.items())],
        **{table: breakdown(dim) for table, dim in BREAKDOWNS.items()},
    }


def comparable(summary):
    return {
        "buckets": [{k: v for k, v in b.items() if k != "start"} for b in summary["buckets"]],
        "total": summary["total"],
        "sip_codes": summary["sip_codes"],
        "initiators": summary["initiators"],
        **{table: summary[table] for table in BREAKDOWNS},
    }


def rollup_state():
    """Every non-zero rollup row of the four tables, by key."""
    rollups_catch_up()
    state = {}
    for model, time_col, counters in (
        (ReportSlot, "slot", COUNTERS),
        (ReportHour, "hour", COUNTERS),
        (ReportDay, "day", COUNTERS),
        (ReportPdd, "slot", ("n",)),
        (ReportPddHour, "hour", ("n",)),
        (ReportPddDay, "day", ("n",)),
        (ReportMixSlot, "slot", COUNTERS),
        (ReportMixHour, "hour", COUNTERS),
        (ReportMixDay, "day", COUNTERS),
    ):
        rest = ("bin",) if "n" in counters else ("status", "sip_code", "initiator")
        if model.__name__.startswith("ReportMix"):
            rest = ("scenario", "codec")
        dims = ("tenant_id", time_col, "direction", *rest)
        state[model.__name__] = {
            tuple(r[d] for d in dims): tuple(r[c] for c in counters)
            for r in model.objects.values()
            if any(r[c] for c in counters)
        }
    assert state["ReportSlot"] and state["ReportHour"] and state["ReportDay"]
    report_peaks_refresh()
    assert not ReportPeak.objects.filter(dirty__gt=0).exists()
    state["ReportPeak"] = {(r.tenant_id, r.slot): r.peak for r in ReportPeak.objects.filter(peak__gt=0)}
    return state


def _queries(tenant_ids):
    for tenant in tenant_ids:
        for tz in ("Europe/Berlin", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "UTC"):
            for bucket in ("hour", "day", "week", "month"):
                yield ReportQuery(tenant, date(2026, 3, 27), date(2026, 4, 2), bucket, ZoneInfo(tz))
            yield ReportQuery(tenant, date(2026, 3, 28), date(2026, 3, 30), "hour", ZoneInfo(tz), "inbound")


def assert_rollups_match_raw():
    tenants = set(Call.objects.values_list("tenant_id", flat=True))
    assert tenants
    for q in _queries(tenants):
        assert comparable(report_summary_fresh(q)) == raw_summary(q), q
    live = rollup_state()
    call_command("cdr_reports_rebuild")
    assert rollup_state() == live


class EventCollector:
    """A LifecycleSink that keeps the JSON events the real sink would have sent."""

    def __init__(self):
        self.events = []

    def __getattr__(self, method):
        if not method.startswith("on_"):
            raise AttributeError(method)
        return lambda *args: self.events.append(encode_hook_call(method, args, time.time_ns()))

    def close(self, timeout=None):
        return True


def ingest_messily(events, *, seed, batch=25):
    """Deliver with duplicates, reordering and some events held back and sent late."""
    rng = random.Random(seed)
    pool = events + rng.sample(events, len(events) // 4)
    rng.shuffle(pool)
    late = pool[: len(pool) // 10]
    now = pool[len(pool) // 10 :]
    for i in range(0, len(now), batch):
        events_ingest(events=now[i : i + batch])
    for i in range(0, len(late), batch):
        events_ingest(events=late[i : i + batch])
