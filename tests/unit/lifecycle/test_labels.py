"""Call labels on the wire: validation with a reason, the fold's rule, the sinks' label book."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cdr.lifecycle.events import Event, Rejected, parse_event
from cdr.lifecycle.fields import Invalid
from cdr.lifecycle.fold import derive_call
from cdr.lifecycle.labels import MAX_LABELS, LabelBook, labels_merge, labels_parse
from cdr.lifecycle.transfers import derive_transfers
from tests.support.factories import T0, bye, call, event


def parsed(raw):
    return parse_event(raw, received_at=T0)


def labelled(kind, at_s, labels, **extra):
    return event(kind, at_s, call(labels=labels), **extra)


@pytest.mark.parametrize(
    ("labels", "reason"),
    [
        (["from", "+33"], "call.labels: expected an object of strings, got list"),
        ("from=+33", "call.labels: expected an object of strings, got str"),
        ({f"k{i}": "v" for i in range(17)}, "call.labels: 17 keys, at most 16"),
        ({"": "v"}, "call.labels: key '': expected 1..64 characters of A-Z a-z 0-9 _ . : / -"),
        ({"a" * 65: "v"}, "call.labels: key 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa': expected 1..64 characters"),
        ({"a=b": "v"}, "call.labels: key 'a=b': expected 1..64 characters"),
        ({"caller id": "v"}, "call.labels: key 'caller id': expected"),
        ({"from": 33}, "call.labels.from: expected a string, got int"),
        ({"from": None}, "call.labels.from: expected a string, got NoneType"),
        ({"from": {"n": "1"}}, "call.labels.from: expected a string, got dict"),
        ({"from": "x" * 257}, "call.labels.from: longer than 256 characters"),
        ({"from": "a\x00b"}, "call.labels.from: contains NUL or an unpaired surrogate"),
        ({"from": "\ud800"}, "call.labels.from: contains NUL or an unpaired surrogate"),
    ],
)
def test_bad_labels_reject_the_event_with_a_reason_naming_them(labels, reason):
    verdict = parsed(labelled("ringing", 0, labels))
    assert isinstance(verdict, Rejected) and verdict.reason.startswith(reason), verdict.reason


def test_the_limits_themselves_are_accepted():
    labels = {f"k{i:02d}" + "x" * 61: "é" * 256 for i in range(MAX_LABELS)}
    verdict = parsed(labelled("ringing", 0, labels))
    assert isinstance(verdict, Event) and verdict.labels == labels
    assert verdict.payload["call"]["labels"] == labels


@pytest.mark.parametrize("none", [None, {}])
def test_no_labels_keep_the_fingerprint_an_event_always_had(none):
    plain = parsed(event("ringing", 0))
    empty = parsed(labelled("ringing", 0, none))
    assert isinstance(empty, Event) and empty.fingerprint == plain.fingerprint and empty.payload == plain.payload
    assert "labels" not in empty.payload["call"]


def test_labels_are_part_of_the_events_identity():
    one = parsed(labelled("ringing", 0, {"from": "+331"}))
    other = parsed(labelled("ringing", 0, {"from": "+332"}))
    assert one.fingerprint != other.fingerprint != parsed(event("ringing", 0)).fingerprint


def record(raws):
    events = [parsed(r) for r in raws]
    assert all(isinstance(e, Event) for e in events)
    return derive_call("c1@gw", events)


def test_keys_accumulate_and_the_latest_observation_of_a_key_wins():
    r = record(
        [
            labelled("ringing", 1, {"from": "+331", "to": "+339"}),
            labelled("established", 3, {"from": "+332"}),
            labelled("transfer_started", 2, {"from": "+330", "campaign": "spring"}, target_uri="sip:q@pbx"),
            bye(9, 9),  # no labels: removes nothing
        ]
    )
    assert r.labels == {"campaign": "spring", "from": "+332", "to": "+339"}


def test_at_the_same_instant_the_greater_value_wins_in_any_order():
    a, b = labelled("ringing", 1, {"did": "+3310"}), labelled("established", 1, {"did": "+3320"})
    assert record([a, b]).labels == record([b, a]).labels == {"did": "+3320"}


def test_a_repeat_seen_later_counts_at_its_first_sighting():
    first = labelled("ringing", 1, {"to": "old"})
    second = labelled("established", 2, {"to": "new"})
    again = dict(first, observed_at=(T0 + timedelta(seconds=5)).isoformat())
    assert record([first, second, again]).labels == {"to": "new"}


def test_more_than_16_keys_over_the_events_keep_the_first_16_in_code_point_order():
    early = {f"a{i:02d}": "x" for i in range(10)}
    late = {f"b{i:02d}": "y" for i in range(10)}
    r = record([labelled("ringing", 1, early), labelled("established", 2, late)])
    assert list(r.labels) == sorted({**early, **late})[:16]
    assert labels_merge([]) == {}


def test_the_same_transfer_attempt_posted_with_labels_added_is_one_attempt():
    bare = event("transfer_started", 5, target_uri="sip:q@pbx")
    with_labels = labelled("transfer_started", 5, {"from": "+331"}, target_uri="sip:q@pbx")
    events = [parsed(bare), parsed(with_labels)]
    assert events[0].fingerprint != events[1].fingerprint
    assert [t.target_uri for t in derive_transfers(events, ())] == ["sip:q@pbx"]


def test_the_label_book_merges_validates_and_forgets_the_oldest_call():
    book = LabelBook(max_calls=2)
    assert book.get("a") is None and not book
    held = book.set("a", {"from": "+331"})
    assert book.set("a", {"to": "+339"}) == {"from": "+331", "to": "+339"}
    assert held == {"from": "+331"}  # what an earlier event captured is never changed
    with pytest.raises(Invalid, match=r"labels\.to: expected a string, got int"):
        book.set("a", {"to": 5})
    with pytest.raises(Invalid, match="the call would have 17 keys, at most 16"):
        book.set("a", {f"k{i}": "v" for i in range(15)})
    assert book.get("a") == {"from": "+331", "to": "+339"}  # a refused call keeps what it had
    with pytest.raises(ValueError, match="call_id: expected a non-empty string"):
        book.set("", {"from": "x"})
    book.set("b", {"from": "1"})
    book.set("a", {"did": "2"})  # the most recently labelled is kept longest
    book.set("c", {"from": "3"})
    assert (book.get("b"), len(book)) == (None, 2) and book.get("a") == {"from": "+331", "to": "+339", "did": "2"}


def test_parse_accepts_absent_and_null():
    assert labels_parse(None) == {} and labels_parse({"k": ""}) == {"k": ""}
