"""content_at, the event log's partition key, is a function of the fingerprinted content: every copy
of an event (re-delivered, observed at another time, refused) gets the same one, so unique
(fingerprint, scope, content_at) is unique (fingerprint, scope)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from cdr.lifecycle.encode import encode_hook_call
from cdr.lifecycle.events import CONTENT_EPOCH, Event, Rejected, content_time, event_from_row, parse_event
from cdr.simulator import generate

NOW = datetime(2026, 3, 2, tzinfo=UTC)


def _simulated() -> list[dict]:
    raws = []
    for sim in generate(60, seed=5, base_time=datetime(2026, 3, 1, tzinfo=UTC)):
        raws += [encode_hook_call(str(step.method), step.args, 1) for step in sim.steps]
    return raws


RAWS = _simulated()


@given(st.sampled_from(RAWS), st.integers(min_value=-(10**7), max_value=10**7), st.sampled_from([0, 5, -11]))
def test_a_copy_observed_at_another_time_or_zone_has_the_same_content_at(raw, shift, hours):
    first = parse_event(raw, received_at=NOW)
    zone = timezone(timedelta(hours=hours))
    observed = (first.observed_at + timedelta(seconds=shift)).astimezone(zone)
    again = parse_event(dict(raw, observed_at=observed.isoformat()), received_at=NOW)
    if again.fingerprint == first.fingerprint:
        assert again.content_at == first.content_at


def test_content_at_is_the_calls_start_else_the_hangups_end_else_the_epoch():
    kinds: dict[str, set[bool]] = {}
    for raw in RAWS:
        event = parse_event(raw, received_at=NOW)
        if not isinstance(event, Event):  # the simulator sends some broken ones too
            continue
        # What the log stores gives it back (the conversion's rule, and a row read back).
        assert content_time(event.payload) == event.content_at
        assert event_from_row(event.payload, event.observed_at).content_at == event.content_at
        if event.call and event.call.started_at:
            assert event.content_at == event.call.started_at
        kinds.setdefault(event.type, set()).add(event.content_at == CONTENT_EPOCH)
    assert kinds["bridge_started"] == {True} and kinds["ringing"] == {False}


def test_a_zero_start_takes_the_hangups_end():
    raw = {
        "type": "bye",
        "observed_at": "2026-03-01T10:00:05Z",
        "call": {"call_id": "z@gw", "direction": "inbound", "started_at": "0001-01-01T00:00:00Z"},
        "hangup": {"initiator": "remote", "ended_at": "2026-03-01T10:00:04+01:00"},
    }
    event = parse_event(raw, received_at=NOW)
    assert isinstance(event, Event) and event.content_at == datetime(2026, 3, 1, 9, 0, 4, tzinfo=UTC)


def test_a_copy_refused_for_its_observation_lands_where_the_accepted_copy_does():
    """A normalised event sent once with a broken observed_at fingerprints like its good copy."""
    good = parse_event(RAWS[0], received_at=NOW)
    assert isinstance(good, Event)
    bad = parse_event(dict(good.payload, observed_at="yesterday"), received_at=NOW)
    assert isinstance(bad, Rejected)
    assert (bad.fingerprint, bad.content_at) == (good.fingerprint, good.content_at)


@given(st.one_of(st.none(), st.integers(), st.text(max_size=40), st.lists(st.integers(), max_size=2)))
def test_anything_in_place_of_a_time_is_the_epoch_or_a_time(value):
    at = content_time({"type": "ringing", "call": {"started_at": value}})
    assert at == CONTENT_EPOCH or (isinstance(value, str) and at.tzinfo is UTC)
