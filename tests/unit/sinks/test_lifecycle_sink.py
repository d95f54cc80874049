"""CeleryLifecycleSink against a publisher we control: spooling, replay order, bounds, close()."""

import logging
import threading
from datetime import UTC, datetime

import pytest

from cdr.hooks import CallMeta, Direction, HangupMeta, RecordingArtifact
from cdr.sinks.lifecycle import CeleryLifecycleSink
from cdr.sinks.outbox import Spool

T0 = datetime(2026, 11, 26, tzinfo=UTC)


class Broker:
    """A stand-in for our own Publisher interface: takes batches, or fails, or hangs on demand."""

    def __init__(self):
        self.batches = []
        self.committed = set()
        self.lose_next = 0  # publish "succeeds" but the message never reaches a worker
        self.down = False
        self.gate = threading.Event()
        self.gate.set()
        self.calls = 0

    def publish(self, events, batch_id):
        self.calls += 1
        self.gate.wait()
        if self.down:
            raise ConnectionError("broker down")
        if self.lose_next:
            self.lose_next -= 1
            return
        self.batches.append(events)
        self.committed.add(batch_id)

    def confirmed(self, batch_ids):
        return self.committed & set(batch_ids)

    def close(self):
        pass

    def call_ids(self):
        return [e["call"]["call_id"] for b in self.batches for e in b if "call" in e]


def meta(i):
    return CallMeta(call_id=f"c{i}", direction=Direction.INBOUND, tenant_id=1, started_at=T0)


@pytest.fixture
def make(tmp_path):
    sinks = []

    def factory(broker, **kw):
        kw.setdefault("flush_seconds", 0.005)
        kw.setdefault("retry_seconds", 0.01)
        sink = CeleryLifecycleSink(publisher=broker, spool_path=tmp_path / "spool.sqlite3", **kw)
        sinks.append(sink)
        return sink

    yield factory
    for s in sinks:
        s.close(timeout=5)


def test_events_are_shipped_in_batches_with_their_observation_time(make):
    broker = Broker()
    sink = make(broker, batch_events=50)
    for i in range(120):
        sink.on_ringing(meta(i))
    assert sink.close(timeout=5)
    assert broker.call_ids() == [f"c{i}" for i in range(120)]
    assert max(len(b) for b in broker.batches) <= 50
    first = broker.batches[0][0]
    assert first["type"] == "ringing" and first["source"] == "sink"
    assert datetime.fromisoformat(first["observed_at"]).year >= 2026
    assert sink.stats()["published"] == 120


def test_hooks_never_raise_even_on_garbage():
    class Exploding:
        def publish(self, events, batch_id):
            raise RuntimeError("boom")

        def confirmed(self, batch_ids):
            raise RuntimeError("boom")

        def close(self):
            raise RuntimeError("boom")

    sink = CeleryLifecycleSink(publisher=Exploding(), spool_path=":memory:", flush_seconds=0.005)
    sink.on_bye(None, None, None)
    sink.on_failed("x", 3)
    sink.on_bridge_started(object(), None)
    sink.on_transfer_started(meta(1), b"\xff")
    sink.close(timeout=0.5)


def test_a_hung_broker_never_blocks_the_gateway_threads(make):
    broker = Broker()
    broker.gate.clear()  # publish() hangs until released
    sink = make(broker, batch_events=10)
    done = threading.Event()

    def gateway():
        for i in range(5000):
            sink.on_established(meta(i))
        done.set()

    threading.Thread(target=gateway, daemon=True).start()
    assert done.wait(30), "a hook call blocked behind the broker"
    broker.gate.set()
    assert sink.flush(timeout=10)
    assert broker.call_ids() == [f"c{i}" for i in range(5000)]


def test_broker_down_spools_then_replays_in_order(make):
    broker = Broker()
    broker.down = True
    sink = make(broker, batch_events=7)
    for i in range(100):
        sink.on_ringing(meta(i))
    assert not sink.flush(timeout=0.3)
    assert sink.stats()["spool_pending"] == 100 and sink.stats().get("published", 0) == 0
    broker.down = False
    assert sink.flush(timeout=10)
    assert broker.call_ids() == [f"c{i}" for i in range(100)]  # in order, nothing twice
    assert sink.stats()["confirmed"] == 100 and sink.stats()["spool_pending"] == 0


def test_events_arriving_during_replay_stay_behind_the_backlog(make):
    broker = Broker()
    broker.down = True
    sink = make(broker, batch_events=5)
    for i in range(50):
        sink.on_ringing(meta(i))
    sink.flush(timeout=0.2)
    broker.down = False
    for i in range(50, 100):
        sink.on_ringing(meta(i))
    assert sink.flush(timeout=10)
    assert broker.call_ids() == [f"c{i}" for i in range(100)]


def test_what_is_spooled_at_close_is_replayed_by_the_next_sink(tmp_path):
    path = tmp_path / "spool.sqlite3"
    down = Broker()
    down.down = True
    first = CeleryLifecycleSink(publisher=down, spool_path=path, flush_seconds=0.005)
    for i in range(30):
        first.on_bye(meta(i), HangupMeta(ended_at=T0), RecordingArtifact())
    assert first.close(timeout=0.5)  # nothing left only in memory
    assert Spool(path, max_events=10).pending == 30
    up = Broker()
    second = CeleryLifecycleSink(publisher=up, spool_path=path, flush_seconds=0.005)
    assert second.flush(timeout=10)
    second.close()
    assert up.call_ids() == [f"c{i}" for i in range(30)]


def test_a_full_spool_drops_loudly_and_counts(make, caplog):
    broker = Broker()
    broker.down = True
    sink = make(broker, batch_events=10, spool_max_events=25)
    with caplog.at_level(logging.ERROR, logger="cdr.sinks.lifecycle"):
        for i in range(60):
            sink.on_ringing(meta(i))
        sink.flush(timeout=0.3)
    stats = sink.stats()
    assert stats["spool_pending"] == 20 and stats["dropped_spool_full"] == 40
    broker.down = False
    assert sink.flush(timeout=10) and broker.call_ids() == [f"c{i}" for i in range(20)]
    assert "lifecycle spool full" in caplog.text


def test_a_full_buffer_drops_loudly_and_counts(make):
    broker = Broker()
    broker.gate.clear()
    sink = make(broker, buffer_events=100, batch_events=10)
    for i in range(500):
        sink.on_ringing(meta(i))
    stats = sink.stats()
    assert stats["dropped_buffer_full"] >= 390 and stats["buffered"] <= 100
    broker.gate.set()


def test_back_to_back_hooks_get_distinct_ordered_stamps_at_microsecond_resolution(make):
    broker = Broker()
    sink = make(broker)

    def gateway(k):
        for i in range(2000):
            sink.on_transfer_started(meta(k), f"sip:agent-{i:04d}@pbx")

    threads = [threading.Thread(target=gateway, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sink.close(timeout=5)
    events = [e for b in broker.batches for e in b]
    assert len({e["observed_at"] for e in events}) == 8000  # no two stamps alike, across threads
    for k in range(4):
        mine = [e for e in events if e["call"]["call_id"] == f"c{k}"]
        assert [e["observed_at"] for e in mine] == sorted(e["observed_at"] for e in mine)
        assert [e["target_uri"] for e in mine] == sorted(e["target_uri"] for e in mine)


def test_a_batch_lost_after_publishing_is_published_again(make):
    broker = Broker()
    broker.lose_next = 2  # e.g. Redis popped it and the worker died before recording it
    sink = make(broker, batch_events=10, confirm_seconds=0.01, redeliver_seconds=0.2)
    for i in range(30):
        sink.on_ringing(meta(i))
    assert sink.flush(timeout=10)
    assert sorted(broker.call_ids()) == sorted(f"c{i}" for i in range(30))
    assert sink.stats()["republished"] == 20 and sink.stats()["confirmed"] == 30


def test_unconfirmed_batches_survive_a_restart(tmp_path):
    path = tmp_path / "spool.sqlite3"
    broker = Broker()
    broker.lose_next = 100
    first = CeleryLifecycleSink(publisher=broker, spool_path=path, flush_seconds=0.005)
    for i in range(10):
        first.on_ringing(meta(i))
    assert first.close(timeout=0.5)
    assert Spool(path, max_events=100).pending == 10  # published, never confirmed: kept
    broker.lose_next = 0
    second = CeleryLifecycleSink(
        publisher=broker, spool_path=path, flush_seconds=0.005, redeliver_seconds=0.1, confirm_seconds=0.01
    )
    assert second.flush(timeout=10)
    second.close()
    assert broker.call_ids() == [f"c{i}" for i in range(10)]


def test_set_labels_travel_on_the_calls_later_hooks_and_bad_ones_raise_with_the_reason(make):
    broker = Broker()
    sink = make(broker)
    sink.on_ringing(meta(1))  # before set_labels: none
    sink.set_labels("c1", {"from": "+33612345678", "did": "+33184000007"})
    sink.on_established(meta(1))
    sink.set_labels("c1", {"did": "+33184000008"})
    sink.on_bridge_started("c1", "c2")
    sink.on_established(meta(2))  # another call: none
    sink.on_failed(meta(1), HangupMeta(sip_code=486))
    with pytest.raises(ValueError, match=r"labels\.from: longer than 256 characters"):
        sink.set_labels("c1", {"from": "x" * 257})
    with pytest.raises(ValueError, match="labels: 17 keys, at most 16"):
        sink.set_labels("c1", {f"k{i}": "" for i in range(17)})
    assert sink.close(timeout=5)
    events = [e for b in broker.batches for e in b]
    assert [e.get("call", {}).get("labels") for e in events] == [
        None,
        {"from": "+33612345678", "did": "+33184000007"},
        None,
        None,
        {"from": "+33612345678", "did": "+33184000008"},
    ]
