"""A fake of OUR OWN sink interfaces that records every invocation, and a reference fold.

``fold()`` applies the CDR store's rules to what a sink actually received, independently of
how the simulator computed its ``expected`` records, so the two can be compared.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from cdr.hooks import CallMeta, RecordingArtifact, RecordingResult
from cdr.simulator import Expected, ExpectedTransfer, Status

VALID = {"inbound", "outbound"}
_NEVER = datetime.min.replace(tzinfo=UTC)  # the gateway always sets started_at


@dataclass(frozen=True)
class Invocation:
    method: str
    args: tuple[Any, ...]
    thread: str


class RecordingFake:
    """Implements LifecycleSink and RecordingSink; appends each call to ``log`` (thread-safe)."""

    def __init__(self, *, begin_returns: bool = True) -> None:
        self.log: list[Invocation] = []
        self.begin_returns = begin_returns
        self._lock = threading.Lock()

    def _add(self, method: str, *args: Any) -> None:
        with self._lock:
            self.log.append(Invocation(method, args, threading.current_thread().name))

    def set_labels(self, call_id: str, labels: dict[str, str]) -> None:
        self._add("set_labels", call_id, dict(labels))

    def on_ringing(self, meta: CallMeta) -> None:
        self._add("on_ringing", meta)

    def on_established(self, meta: CallMeta) -> None:
        self._add("on_established", meta)

    def on_transfer_started(self, inbound: CallMeta, target_uri: str) -> None:
        self._add("on_transfer_started", inbound, target_uri)

    def on_bridge_started(self, inbound_call_id: str, outbound_call_id: str) -> None:
        self._add("on_bridge_started", inbound_call_id, outbound_call_id)

    def on_bye(self, meta: CallMeta, hangup: Any, recording: RecordingArtifact) -> None:
        self._add("on_bye", meta, hangup, recording)

    def on_failed(self, meta: CallMeta, hangup: Any) -> None:
        self._add("on_failed", meta, hangup)

    def begin_recording(self, meta: CallMeta, sample_rate: int, codec: str) -> bool:
        self._add("begin_recording", meta, sample_rate, codec)
        return self.begin_returns

    def append_pcm(self, call_id: str, ch: Any, pcm: bytes) -> None:
        self._add("append_pcm", call_id, ch, pcm)

    def finish_recording(self, artifact: RecordingArtifact, *, timeout: float | None = None) -> RecordingResult:
        self._add("finish_recording", artifact)
        return RecordingResult(object_key=artifact.call_id, bytes=len(artifact.payload))


def fold(log: list[Invocation]) -> dict[str, Expected]:
    """The store's rules applied to received invocations -> one record per call id."""
    metas: dict[str, CallMeta] = {}
    established: set[str] = set()
    ends: dict[str, tuple[Any, str, Any]] = {}
    targets: dict[str, list[str]] = {}
    bridged: set[tuple[str, str]] = set()
    labels: dict[str, dict[str, str]] = {}
    for inv in log:
        if inv.method == "set_labels":
            labels.setdefault(inv.args[0], {}).update(inv.args[1])
        elif inv.method == "on_transfer_started":
            targets.setdefault(inv.args[0].call_id, []).append(inv.args[1])
        elif inv.method == "on_bridge_started":
            bridged.add((inv.args[0], inv.args[1]))
        elif inv.method in ("on_ringing", "on_established", "on_bye", "on_failed"):
            meta = inv.args[0]
            if meta.direction not in VALID:
                continue
            metas.setdefault(meta.call_id, meta)
            if inv.method == "on_established":
                established.add(meta.call_id)
            elif inv.method in ("on_bye", "on_failed"):
                hangup = inv.args[1]
                old = ends.get(meta.call_id)
                if old is None or hangup.ended_at < old[0]:
                    ends[meta.call_id] = (hangup.ended_at, inv.method, hangup)
    by_corr: dict[str, list[CallMeta]] = {}
    for a in metas.values():
        if a.scenario == "transfer_agent":
            by_corr.setdefault(a.correlation_id, []).append(a)
    out: dict[str, Expected] = {}
    for call_id, m in metas.items():
        tenant = m.tenant_id
        if not tenant and m.scenario == "transfer_agent" and m.correlation_id in metas:
            tenant = metas[m.correlation_id].tenant_id
        agents = sorted(by_corr.get(call_id, []), key=lambda a: a.started_at or _NEVER)
        transfers = tuple(
            ExpectedTransfer(t, a.call_id, (call_id, a.call_id) in bridged)
            for t, a in zip(targets.get(call_id, []), agents, strict=True)
        )
        est = call_id in established
        rec = Expected(
            call_id=call_id,
            direction=str(m.direction),
            scenario=m.scenario,
            correlation_id=m.correlation_id,
            tenant_id=tenant,
            started_at=m.started_at or _NEVER,
            status=Status.ESTABLISHED if est else Status.RINGING,
            established=est,
            transfers=transfers,
            labels=labels.get(call_id, {}),
        )
        if call_id in ends:
            ended_at, method, h = ends[call_id]
            rec = _with_end(rec, ended_at, method, h)
        out[call_id] = rec
    return out


def _with_end(rec: Expected, ended_at: Any, method: str, h: Any) -> Expected:
    return replace(
        rec,
        status=Status.COMPLETED if method == "on_bye" else Status.FAILED,
        ended_at=ended_at,
        hangup_initiator=str(h.initiator),
        sip_code=h.sip_code or None,
        hangup_reason=h.reason,
    )
