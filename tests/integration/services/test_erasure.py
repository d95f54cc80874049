"""Erasure of one person's data: masked everywhere, counts kept, tenant-scoped, idempotent, and a
re-delivered event cannot bring it back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cdr.lifecycle.events import parse_event
from cdr.models import Call, CallEvent, DeletionKind, Gateway, GatewayEvent, RecordDeletion, Recording
from cdr.services import events_ingest
from cdr.services.erasure import ErasureInvalid, calls_erase, erasure_selector, selector_hash
from cdr.services.gateways import gateway_create
from cdr.services.recordings import legal_hold_place
from cdr.storage.backend import recordings_storage
from tests.support.factories import T0
from tests.support.records import call_events, call_seed, orphan_leg_seed, recording_seed
from tests.support.reports import rollup_state

pytestmark = pytest.mark.django_db

ADDR = "198.51.100.23"


@pytest.fixture
def seeded(local_recordings):
    call_seed("p1@gw", 7, T0, remote=f"{ADDR}:5060")
    call_seed("p2@gw", 7, T0 + timedelta(hours=1), remote=f"{ADDR}:40312")
    call_seed("q1@gw", 7, T0 + timedelta(hours=2), remote="198.51.100.230:5060")  # a longer address
    call_seed("t9@gw", 9, T0, remote=f"{ADDR}:5060")  # the same person seen by tenant 9
    return {c: recording_seed(c, t) for c, t in (("p1@gw", 7), ("q1@gw", 7), ("t9@gw", 9))}


def _has_addr(call_id):
    return any(
        f"{ADDR}:" in str(p) for p in CallEvent.objects.filter(call_id=call_id).values_list("payload", flat=True)
    )


def test_dry_run_changes_nothing_and_says_what_would(seeded):
    before = list(CallEvent.objects.order_by("pk").values_list("fingerprint", "payload"))
    plan = calls_erase(tenant_id=7, selector=erasure_selector(remote_addr=ADDR))
    assert not plan.applied and plan.call_ids == ["p1@gw", "p2@gw"]
    assert (plan.calls, plan.events, plan.recordings) == (2, 8, 1)
    assert list(CallEvent.objects.order_by("pk").values_list("fingerprint", "payload")) == before
    assert Call.objects.filter(remote_addr__startswith=ADDR).count() == 4
    assert not RecordDeletion.objects.exists()


def test_erasure_masks_records_events_and_recordings_and_keeps_counts(seeded):
    before = rollup_state()
    done = calls_erase(tenant_id=7, selector=erasure_selector(remote_addr=ADDR), apply=True, actor="test")
    assert (done.calls, done.events, done.recordings) == (2, 8, 1)
    for call_id in ("p1@gw", "p2@gw"):
        row = Call.objects.get(call_id=call_id)
        assert row.remote_addr == "" and row.erased_at is not None
        assert not _has_addr(call_id)
    assert Recording.objects.get(call_id="p1@gw").deleted_at is not None
    assert not recordings_storage().exists(seeded["p1@gw"])
    assert rollup_state() == before
    # Fingerprints are of the masked content: what a masked re-delivery gets.
    for fp, payload, observed_at in CallEvent.objects.filter(call_id="p1@gw", status="accepted").values_list(
        "fingerprint", "payload", "observed_at"
    ):
        assert (
            parse_event(dict(payload, observed_at=observed_at.isoformat()), received_at=observed_at).fingerprint == fp
        )
    # The audit row holds a keyed hash, not the address.
    audit = RecordDeletion.objects.get()
    assert (audit.kind, audit.tenant_id, audit.calls, audit.events, audit.recordings) == (
        DeletionKind.ERASURE, 7, 2, 8, 1
    )  # fmt: skip
    assert audit.selector_hash == selector_hash(erasure_selector(remote_addr=ADDR))
    assert ADDR not in str([getattr(audit, f.attname) for f in RecordDeletion._meta.fields])


def test_erasure_in_tenant_7_never_touches_tenant_9_nor_other_addresses(seeded):
    calls_erase(tenant_id=7, selector=erasure_selector(remote_addr=ADDR), apply=True)
    assert Call.objects.get(call_id="t9@gw").remote_addr == f"{ADDR}:5060" and _has_addr("t9@gw")
    assert Call.objects.get(call_id="t9@gw").erased_at is None
    assert recordings_storage().exists(seeded["t9@gw"]) and recordings_storage().exists(seeded["q1@gw"])
    assert Call.objects.get(call_id="q1@gw").remote_addr == "198.51.100.230:5060"
    # Naming tenant 9's call from tenant 7 finds nothing.
    assert calls_erase(tenant_id=7, selector=erasure_selector(call_id="t9@gw"), apply=True).call_ids == []
    assert _has_addr("t9@gw")


def test_erasure_is_idempotent(seeded):
    calls_erase(tenant_id=7, selector=erasure_selector(call_id="p1@gw"), apply=True)
    state = list(CallEvent.objects.order_by("pk").values_list("fingerprint", "payload"))
    again = calls_erase(tenant_id=7, selector=erasure_selector(call_id="p1@gw"), apply=True)
    assert again.call_ids == ["p1@gw", "p1@gw-agent"] and (again.calls, again.events, again.recordings) == (0, 0, 0)
    assert list(CallEvent.objects.order_by("pk").values_list("fingerprint", "payload")) == state


def test_redelivered_and_new_events_after_erasure_do_not_bring_the_data_back(seeded):
    calls_erase(tenant_id=7, selector=erasure_selector(call_id="p1@gw"), apply=True)
    before = rollup_state()
    events = CallEvent.objects.filter(call_id="p1@gw").count()
    # Every original event again: duplicates of the masked copies.
    result = events_ingest(events=call_events("p1@gw", 7, T0, remote=f"{ADDR}:5060"))
    assert result.accepted == 0 and result.duplicate == 8
    assert CallEvent.objects.filter(call_id="p1@gw").count() == events
    # A new event of the erased call (a second BYE) is stored masked.
    late = call_events("p1@gw", 7, T0, remote=f"{ADDR}:5060")[-1]
    late["observed_at"] = late["hangup"]["ended_at"] = (T0 + timedelta(seconds=99)).isoformat()
    assert events_ingest(events=[late]).accepted == 1
    assert not _has_addr("p1@gw") and Call.objects.get(call_id="p1@gw").remote_addr == ""
    assert rollup_state() == before


def test_the_http_ledger_forgets_the_fingerprints_of_erased_content(seeded):
    gw = Gateway.objects.create(name="g", key_id="k", secret_encrypted="x", tenant_ids=[7])
    fps = list(CallEvent.objects.filter(call_id="p1@gw").values_list("fingerprint", flat=True))
    GatewayEvent.objects.bulk_create(
        [GatewayEvent(gateway=gw, event_id=f"e{i}", fingerprint=fp, received_at=T0) for i, fp in enumerate(fps)]
    )
    calls_erase(tenant_id=7, selector=erasure_selector(call_id="p1@gw"), apply=True)
    # Only the bridge event (no personal data, its content unchanged) is still remembered.
    assert list(GatewayEvent.objects.values_list("fingerprint", flat=True)) == list(
        CallEvent.objects.filter(call_id="p1@gw", type="bridge_started").values_list("fingerprint", flat=True)
    )


def test_a_held_call_is_not_erased(seeded):
    legal_hold_place(call_id="p1@gw")
    done = calls_erase(tenant_id=7, selector=erasure_selector(remote_addr=ADDR), apply=True)
    assert done.held == ["p1@gw"] and done.call_ids == ["p2@gw"]
    assert _has_addr("p1@gw") and RecordDeletion.objects.get().held == 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "exactly one"),
        ({"call_id": "a", "remote_addr": "b"}, "exactly one"),
        ({"call_id": "x" * 256}, "1 to 255"),
    ],
)
def test_bad_selectors(kwargs, message):
    with pytest.raises(ErasureInvalid, match=message):
        erasure_selector(**kwargs)


@pytest.mark.parametrize("leg_tenant", [7, 0])
def test_a_call_id_names_the_call_and_its_agent_leg(local_recordings, leg_tenant):
    """The leg inherited tenant 7, or kept 0 (its gateway may not report 7): erased with the call,
    and only for tenant 7 (tenant 9 naming the call changes nothing)."""
    labels = {"from": "+33612345678"}
    if leg_tenant:
        call_seed("p1@gw", 7, T0, remote=f"{ADDR}:5060", labels=labels)
    else:
        orphan_leg_seed("p1@gw", 7, T0, gateway_create(name="edge-9", tenant_ids=[9]).gateway.pk)
    assert Call.objects.get(call_id="p1@gw-agent").tenant_id == leg_tenant
    assert calls_erase(tenant_id=9, selector=erasure_selector(call_id="p1@gw"), apply=True).call_ids == []
    done = calls_erase(tenant_id=7, selector=erasure_selector(call_id="p1@gw"), apply=True)
    assert done.call_ids == ["p1@gw", "p1@gw-agent"] and done.calls == 2
    leg = Call.objects.get(call_id="p1@gw-agent")
    assert (leg.remote_addr, leg.erased_at is not None) == ("", True)
    assert "10.9.9.9" not in str(list(CallEvent.objects.filter(call_id="p1@gw-agent").values_list("payload")))
