"""Fires generated calls at real sinks from several threads, the way the gateway's goroutines do.

``run()`` executes the schedule computed by ``schedule.plan()``: each worker thread delivers its
calls' steps in their perturbed order, sleeping only when a rate or realtime pacing asks for it.
Sink exceptions are counted, not fatal (a store rejecting an invalid event must not stop the
traffic); bugs in the runner or the recording factory are re-raised to the caller.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from cdr.hooks import LifecycleSink, RecordingArtifact, RecordingChannel, RecordingSink
from cdr.simulator.clock import SimClock
from cdr.simulator.model import SimCall, Step
from cdr.simulator.schedule import Delivery, plan
from cdr.simulator.values import SAMPLE_RATES

RecordingFactory = Callable[[SimCall], bytes]


@dataclass(slots=True)
class RunStats:
    """What a run did: hook invocations per method (lifecycle and recording) and sink errors."""

    calls: int = 0
    invocations: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    first_errors: list[BaseException] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.invocations.values())

    @property
    def per_second(self) -> float:
        return self.total / self.elapsed if self.elapsed > 0 else 0.0


def step_time(call: SimCall, step: Step) -> datetime:
    """The planned instant of ``step``: its offset from the call's start."""
    assert call.meta.started_at is not None
    return call.meta.started_at + timedelta(seconds=step.offset)


class _Worker:
    """Delivers one worker's schedule; recording state is per call, and a call has one worker."""

    def __init__(
        self,
        calls: Sequence[SimCall],
        lifecycle: LifecycleSink,
        recording: RecordingSink | None,
        factory: RecordingFactory | None,
        pcm_frames: int,
        clock: SimClock | None = None,
    ) -> None:
        self.calls, self.lifecycle, self.recording = calls, lifecycle, recording
        self.clock = clock
        self.factory, self.pcm_frames = factory, pcm_frames
        self.stats = RunStats()
        self.begun: set[int] = set()
        self.labelled: set[str] = set()
        # set_labels is an extension of our sinks (not a LifecycleSink method): used when offered.
        self.set_labels = getattr(lifecycle, "set_labels", None)
        self.crash: BaseException | None = None

    def call(self, name: str, fn: Callable[..., Any], *args: Any) -> Any:
        self.stats.invocations[name] += 1
        try:
            return fn(*args)
        except Exception as exc:  # a sink rejecting an event must not stop the traffic
            self.stats.errors[name] += 1
            if len(self.stats.first_errors) < 10:
                self.stats.first_errors.append(exc)
            return None

    def label(self, leg: str, labels: dict[str, str]) -> None:
        """``set_labels`` is not a hook: not counted in ``invocations``, its failures are."""
        assert self.set_labels is not None
        try:
            self.set_labels(leg, labels)
        except Exception as exc:
            self.stats.errors["set_labels"] += 1
            if len(self.stats.first_errors) < 10:
                self.stats.first_errors.append(exc)

    def _begin(self, ci: int) -> None:
        if ci in self.begun or self.recording is None:
            return
        self.begun.add(ci)
        meta = self.calls[ci].meta
        rate = SAMPLE_RATES.get(meta.codec, 8000)
        rec = self.recording
        if self.call("begin_recording", rec.begin_recording, meta, rate, meta.codec):
            frame = bytes(rate // 50 * 2)  # 20 ms of PCM16 LE silence
            for i in range(self.pcm_frames):
                ch = RecordingChannel.CALLER if i % 2 == 0 else RecordingChannel.AGENT
                self.call("append_pcm", rec.append_pcm, meta.call_id, ch, frame)

    def deliver(self, d: Delivery) -> None:
        sim = self.calls[d.call]
        step = sim.steps[d.step]
        args = step.args
        if self.clock is not None:
            self.clock.set(step_time(sim, step))
        if self.set_labels is not None and step.leg not in self.labelled:
            # Before the leg's first hook, whichever is delivered first: every event carries them.
            self.labelled.add(step.leg)
            labels = sim.labels.get(step.leg)
            if labels:
                self.label(step.leg, labels)
        if step.recording == "begin":
            self._begin(d.call)
        elif step.recording == "finish":
            payload = self.factory(sim) if self.factory else b""
            artifact: RecordingArtifact = replace(args[2], payload=payload)
            args = (args[0], args[1], artifact)
            if self.recording is not None:
                self._begin(d.call)  # a bye may overtake the first established
                self.call("finish_recording", self.recording.finish_recording, artifact)
        self.call(step.method.value, getattr(self.lifecycle, step.method.value), *args)

    def run(
        self,
        deliveries: Sequence[Delivery],
        start: threading.Barrier,
        t0: list[float],
        paced: bool,
    ) -> None:
        """Deliver in schedule order; a bug here (not a sink error) is re-raised by ``run()``."""
        try:
            start.wait()  # all workers begin together, like concurrent goroutines
            for d in deliveries:
                if paced:
                    wait = t0[0] + d.due - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                self.deliver(d)
        except BaseException as exc:  # handed over to the calling thread by run()
            self.crash = exc


def run(
    calls: Sequence[SimCall],
    lifecycle: LifecycleSink,
    recording: RecordingSink | None = None,
    *,
    threads: int = 4,
    rate: float | None = None,
    realtime: bool = False,
    shuffle_window: float = 1.5,
    seed: int = 0,
    recording_factory: RecordingFactory | None = None,
    pcm_frames: int = 0,
    clock: SimClock | None = None,
) -> RunStats:
    """Deliver every step of ``calls`` to the sinks from ``threads`` threads; return stats.

    ``rate`` is calls per second (None = as fast as possible, no sleeping at all unless
    ``realtime``); ``realtime`` honours step offsets. The SN3 payload of the bye that carries
    the recording (and of ``finish_recording``) comes from ``recording_factory`` (default b"").
    ``pcm_frames`` 20 ms silence chunks go to ``append_pcm`` when ``begin_recording`` is True.
    ``clock``: the sinks' clock (``SimClock``), set to each step's planned instant before its
    hook is called, so what the sinks observe agrees with the calls' own times.
    """
    schedule = plan(
        calls,
        threads=threads,
        rate=rate,
        realtime=realtime,
        shuffle_window=shuffle_window,
        seed=seed,
    )
    workers = [_Worker(calls, lifecycle, recording, recording_factory, pcm_frames, clock) for _ in schedule.workers]
    paced = realtime or rate is not None
    t0 = [0.0]
    barrier = threading.Barrier(len(workers), action=lambda: t0.__setitem__(0, time.monotonic()))
    pool = [
        threading.Thread(target=w.run, args=(ds, barrier, t0, paced), name=f"sim-gw-{i}", daemon=True)
        for i, (w, ds) in enumerate(zip(workers, schedule.workers, strict=True))
    ]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    stats = RunStats(calls=len(calls), elapsed=time.monotonic() - t0[0])
    for w in workers:
        if w.crash is not None:
            raise w.crash
    for w in workers:
        stats.invocations.update(w.stats.invocations)
        stats.errors.update(w.stats.errors)
        stats.first_errors.extend(w.stats.first_errors[: 10 - len(stats.first_errors)])
    return stats
