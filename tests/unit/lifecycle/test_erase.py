"""event_mask: the person's data masked in a copy, anything else (and an already masked event) as it is."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdr.lifecycle.erase import LABEL_MASK, call_named, event_mask, event_masked, labels_mask
from cdr.lifecycle.events import Event, Rejected, parse_event
from cdr.lifecycle.labels import MAX_LABELS
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


LABELS = {"from": "+33612345678", "to": "+33184000007", "campaign": "spring", "customer": "42"}


def test_masks_the_value_of_every_label_and_keeps_the_keys_and_their_validity():
    raw = event("ringing", 1, call(labels=dict(LABELS)))
    masked = event_mask(raw)
    assert masked["call"]["labels"] == dict.fromkeys(LABELS, LABEL_MASK) and raw["call"]["labels"] == LABELS
    verdict = parse_event(masked, received_at=T0)
    assert isinstance(verdict, Event) and verdict.labels == dict.fromkeys(LABELS, LABEL_MASK)
    assert event_masked(masked) and event_mask(masked) is masked
    # Only the labels left to mask: the address was already gone.
    assert not event_masked(event("ringing", 1, call(remote_addr="", labels={"from": "+336"})))
    assert labels_mask({"from": LABEL_MASK}) == {"from": LABEL_MASK} and labels_mask(None) is None


def test_a_masked_labelled_raw_event_and_its_masked_stored_payload_fingerprint_alike():
    raw = bye(60, 60, call(remote_addr="198.51.100.7:5060", labels=dict(LABELS)))
    stored = parse_event(raw, received_at=T0).payload
    again = dict(event_mask(stored), observed_at=raw["observed_at"])
    assert parse_event(event_mask(raw), received_at=T0).fingerprint == parse_event(again, received_at=T0).fingerprint
    assert parse_event(event_mask(raw), received_at=T0).fingerprint != parse_event(raw, received_at=T0).fingerprint


@pytest.mark.parametrize(
    "labels",
    [
        ["from", "+33612345678"],
        "from=+33612345678",
        {"from": 33612345678},
        {"from": {"n": "+33612345678"}},
        {"from": "+33612345678" * 30},
        {"from": "+336\x0012345678"},
        {f"k{i}": "+33612345678" for i in range(17)},
    ],
)
def test_labels_the_wire_refuses_are_still_refused_once_masked_and_lose_the_data(labels):
    masked = event_mask(event("ringing", 1, call(labels=labels)))
    assert isinstance(parse_event(masked, received_at=T0), Rejected)
    assert "12345678" not in repr(masked) and event_masked(masked)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"[A-Za-z0-9_.:/-]{1,64}", fullmatch=True),
        st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=256),
        max_size=MAX_LABELS,
    )
)
def test_any_valid_labels_masked_stay_valid_with_the_same_keys_and_no_value_left(labels):
    masked = event_mask(event("ringing", 1, call(labels=labels)))
    verdict = parse_event(masked, received_at=T0)
    assert isinstance(verdict, Event) and verdict.labels == dict.fromkeys(labels, LABEL_MASK)
    assert event_mask(masked) is masked


@pytest.mark.parametrize(
    ("kind", "value", "named"),
    [
        ("call_id", "c1@gw", True),
        ("call_id", "parent@gw", True),  # an agent leg of the named call
        ("call_id", "c1", False),
        ("remote_addr", "198.51.100.7", True),
        ("remote_addr", "198.51.100.70", False),
        ("remote_addr", "2001:db8::1", False),
        ("label", "from=+33612345678", True),
        ("label", "from=+3361234567", False),
        ("label", "to=+33612345678", False),
    ],
)
def test_call_named_matches_what_the_selector_matches_in_the_records(kind, value, named):
    meta = {
        "call_id": "c1@gw",
        "correlation_id": "parent@gw",
        "remote_addr": "198.51.100.7:5060",
        "labels": {"from": "+33612345678"},
    }
    assert call_named(meta, kind=kind, value=value) is named
    assert call_named({"remote_addr": "[2001:db8::1]:5060"}, kind="remote_addr", value="2001:db8::1")
    assert not call_named("not an object", kind=kind, value=value)
