"""Metric math over counters: ratios, NER codes, the PDD histogram's p95 against raw values."""

import random

from cdr.reports.metrics import PDD_CAP_MS, Totals, p95_exact_bin, p95_from_histogram, pdd_bin


def test_p95_of_the_histogram_equals_the_same_definition_over_raw_values():
    rng = random.Random(3)
    for _ in range(200):
        values = [int(rng.lognormvariate(7, 1)) for _ in range(rng.randint(1, 300))]
        hist = {}
        for v in values:
            hist[pdd_bin(v)] = hist.get(pdd_bin(v), 0) + 1
        assert p95_from_histogram(hist) == p95_exact_bin(values)


def test_p95_edges():
    assert p95_from_histogram({}) is None
    assert p95_exact_bin([]) is None
    assert p95_exact_bin([0]) == 100
    assert p95_exact_bin([99, 100]) == 200
    assert p95_exact_bin([10**9]) == PDD_CAP_MS
    assert p95_exact_bin([-5]) == 100


def test_figures_from_counters():
    t = Totals()
    row = {"attempts": 1, "answered": 1, "billable_ms": 90_000, "pdd_n": 1, "pdd_ms": 2000}
    row |= {"transfers": 1, "bridged": 1, "recorded": 1}
    t.add_row(direction="inbound", status="completed", sip_code=0, counters=row)
    miss = dict.fromkeys(row, 0) | {"attempts": 1}
    t.add_row(direction="outbound", status="failed", sip_code=486, counters=miss)
    t.add_row(direction="outbound", status="failed", sip_code=503, counters=miss)
    f = t.figures()
    assert (f["attempts"], f["answered"], f["failed"], f["inbound"], f["outbound"]) == (3, 1, 2, 1, 2)
    assert (f["asr"], f["ner"]) == (0.3333, 0.6667)
    assert (f["acd_s"], f["billable_minutes"], f["pdd_mean_ms"]) == (90.0, 1.5, 2000)
    assert f["recording_coverage"] == 1.0
    assert Totals().figures()["asr"] is None
