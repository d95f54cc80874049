"""Erasure and call labels: selected by a label (tenant-scoped), every label value masked in the
record and in the event payloads, and a re-delivery with the original labels cannot bring them back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cdr.lifecycle.erase import LABEL_MASK
from cdr.lifecycle.events import parse_event
from cdr.models import Call, CallEvent, Gateway, GatewayEvent
from cdr.services import events_ingest
from cdr.services.erasure import ErasureInvalid, calls_erase, erasure_selector
from tests.support.factories import T0
from tests.support.records import call_events, call_seed
from tests.support.reports import rollup_state

pytestmark = pytest.mark.django_db

NUMBER = "+33612345678"
LABELS = {"from": NUMBER, "to": "+33184000007", "campaign": "spring"}
MASKED = dict.fromkeys(LABELS, LABEL_MASK)


@pytest.fixture
def seeded():
    call_seed("l1@gw", 7, T0, remote="198.51.100.1:5060", labels=LABELS)
    call_seed("l2@gw", 7, T0 + timedelta(hours=1), remote="198.51.100.2:5060", labels={"from": NUMBER})
    call_seed("l3@gw", 7, T0 + timedelta(hours=2), labels={"from": "+33699999999", "to": NUMBER})  # callee
    call_seed("t9@gw", 9, T0, labels=LABELS)  # the same person seen by tenant 9


def _has_number(call_id):
    return any(NUMBER in str(p) for p in CallEvent.objects.filter(call_id=call_id).values_list("payload", flat=True))


def test_a_label_selects_the_tenants_calls_with_that_exact_key_and_value(seeded):
    plan = calls_erase(tenant_id=7, selector=erasure_selector(label=f"from={NUMBER}"))
    assert not plan.applied and plan.call_ids == ["l1@gw", "l2@gw"]
    assert (plan.calls, plan.events) == (2, 8)
    assert Call.objects.get(call_id="l1@gw").labels == LABELS and _has_number("l1@gw")
    assert calls_erase(tenant_id=7, selector=erasure_selector(label=f"to={NUMBER}")).call_ids == ["l3@gw"]
    assert calls_erase(tenant_id=9, selector=erasure_selector(label=f"from={NUMBER}")).call_ids == ["t9@gw"]
    # A key named like a lookup ("contains") or an array index ("1") is a key like any other.
    call_seed("k1@gw", 7, T0 + timedelta(hours=3), labels={"contains": NUMBER, "1": NUMBER})
    for key in ("contains", "1"):
        assert calls_erase(tenant_id=7, selector=erasure_selector(label=f"{key}={NUMBER}")).call_ids == ["k1@gw"]


def test_erasure_masks_every_label_value_in_the_record_and_the_events(seeded):
    before = rollup_state()
    done = calls_erase(tenant_id=7, selector=erasure_selector(label=f"from={NUMBER}"), apply=True)
    assert done.call_ids == ["l1@gw", "l2@gw"] and (done.calls, done.events) == (2, 8)
    assert Call.objects.get(call_id="l1@gw").labels == MASKED
    assert Call.objects.get(call_id="l2@gw").labels == {"from": LABEL_MASK}
    assert (
        not _has_number("l1@gw")
        and not _has_number("l2@gw")
        and "spring" not in str(list(CallEvent.objects.filter(call_id="l1@gw").values_list("payload", flat=True)))
    )
    for fp, payload, observed_at in CallEvent.objects.filter(call_id="l1@gw", status="accepted").values_list(
        "fingerprint", "payload", "observed_at"
    ):
        again = parse_event(dict(payload, observed_at=observed_at.isoformat()), received_at=observed_at)
        assert again.fingerprint == fp
    # Tenant 9's copy of the person, and tenant 7's call where the number is the callee, stay.
    assert Call.objects.get(call_id="t9@gw").labels == LABELS and _has_number("t9@gw")
    assert Call.objects.get(call_id="l3@gw").labels["to"] == NUMBER
    assert rollup_state() == before
    # Idempotent.
    again = calls_erase(tenant_id=7, selector=erasure_selector(label=f"from={NUMBER}"), apply=True)
    assert (again.calls, again.events) == (0, 0)


def test_erasure_by_address_masks_the_calls_labels_too(seeded):
    done = calls_erase(tenant_id=7, selector=erasure_selector(remote_addr="198.51.100.1"), apply=True)
    assert done.call_ids == ["l1@gw"] and done.calls == 1
    row = Call.objects.get(call_id="l1@gw")
    assert (row.remote_addr, row.labels) == ("", MASKED) and not _has_number("l1@gw")


def test_redelivered_events_with_the_original_labels_do_not_bring_them_back(seeded):
    gw = Gateway.objects.create(name="g", key_id="k", secret_encrypted="x", tenant_ids=[7])
    fps = list(CallEvent.objects.filter(call_id="l1@gw").values_list("fingerprint", flat=True))
    GatewayEvent.objects.bulk_create(
        [GatewayEvent(gateway=gw, event_id=f"e{i}", fingerprint=fp, received_at=T0) for i, fp in enumerate(fps)]
    )
    calls_erase(tenant_id=7, selector=erasure_selector(label=f"from={NUMBER}"), apply=True)
    assert not GatewayEvent.objects.exclude(
        fingerprint__in=CallEvent.objects.filter(type="bridge_started").values("fingerprint")
    ).exists()
    before = rollup_state()
    count = CallEvent.objects.filter(call_id="l1@gw").count()
    original = call_events("l1@gw", 7, T0, remote="198.51.100.1:5060", labels=LABELS)
    result = events_ingest(events=original)
    assert result.accepted == 0 and result.duplicate == 8
    assert CallEvent.objects.filter(call_id="l1@gw").count() == count
    # A new event of the erased call, with new label values too, is stored masked.
    late = call_events("l1@gw", 7, T0, remote="198.51.100.1:5060", labels={**LABELS, "agent": "Alice"})[-1]
    late["observed_at"] = late["hangup"]["ended_at"] = (T0 + timedelta(seconds=99)).isoformat()
    assert events_ingest(events=[late]).accepted == 1
    assert not _has_number("l1@gw") and "Alice" not in str(
        list(CallEvent.objects.filter(call_id="l1@gw").values_list("payload", flat=True))
    )
    assert Call.objects.get(call_id="l1@gw").labels == {**MASKED, "agent": LABEL_MASK}
    assert rollup_state() == before


@pytest.mark.parametrize(
    "label, message",
    [
        ("nokey", "label: expected KEY=VALUE"),
        ("caller id=1", "label: key 'caller id': expected 1..64 characters"),
        ("from=", "label: the value of from is empty"),
        ("from=" + "1" * 257, "label: the value of from is longer than 256 characters"),
        ("from=" + "1" * 317, "label: must be 1 to 321 characters"),
    ],
)
def test_bad_label_selectors(label, message):
    with pytest.raises(ErasureInvalid, match=message):
        erasure_selector(label=label)
    assert erasure_selector(label="a:b/c.d=+336").value == "a:b/c.d=+336"  # any key the wire takes
