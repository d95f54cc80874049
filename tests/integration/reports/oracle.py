"""Report figures computed straight from raw Call/Transfer/Recording rows, by brute force.

Independent of the rollups and the ledger: only the bucket edges and the metric definitions
(``cdr.reports``) are shared with the code under test.
"""

from collections import defaultdict

from cdr.models import Call, Recording, Transfer
from cdr.reports.buckets import bucket_edges, bucket_index
from cdr.reports.metrics import NER_USER_CODES, p95_exact_bin
from cdr.reports.peaks import leg_stop


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
    return {
        "buckets": [figures(groups[i], edges[i], edges[i + 1]) for i in range(len(edges) - 1)],
        "total": figures(calls, edges[0], edges[-1]),
        "sip_codes": [{"sip_code": c or None, "legs": n} for c, n in sorted(by_code.items())],
        "initiators": [{"initiator": k or "none", "legs": n} for k, n in sorted(by_initiator.items())],
    }


def comparable(summary):
    return {
        "buckets": [{k: v for k, v in b.items() if k != "start"} for b in summary["buckets"]],
        "total": summary["total"],
        "sip_codes": summary["sip_codes"],
        "initiators": summary["initiators"],
    }
