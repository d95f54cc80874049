"""event_mask: the person's data masked in a copy, anything else (and an already masked event) as it is."""

from cdr.lifecycle.erase import event_mask, event_masked
from cdr.lifecycle.events import parse_event
from tests.support.factories import T0, bye, call, event


def test_masks_the_remote_address_in_a_copy():
    raw = event("ringing", 1, call(remote_addr="198.51.100.7:5060"))
    masked = event_mask(raw)
    assert masked["call"]["remote_addr"] == "" and raw["call"]["remote_addr"] == "198.51.100.7:5060"
    assert {k: v for k, v in masked["call"].items() if k != "remote_addr"} == {
        k: v for k, v in raw["call"].items() if k != "remote_addr"
    }
    assert event_masked(masked) and not event_masked(raw) and event_mask(masked) is masked


def test_a_masked_raw_event_and_a_masked_stored_payload_fingerprint_alike():
    raw = bye(60, 60, call(remote_addr="198.51.100.7:5060"))
    stored = parse_event(raw, received_at=T0).payload
    again = dict(event_mask(stored), observed_at=raw["observed_at"])
    assert parse_event(event_mask(raw), received_at=T0).fingerprint == parse_event(again, received_at=T0).fingerprint


def test_events_without_personal_data_and_non_objects_are_unchanged():
    bridge = {"type": "bridge_started", "inbound_call_id": "a", "outbound_call_id": "b"}
    for raw in (bridge, {"call": "not an object"}, ["x"], None, event("ringing", 1, call(remote_addr=""))):
        assert event_mask(raw) is raw
