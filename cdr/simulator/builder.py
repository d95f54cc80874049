"""Accumulates the hook steps of one call and derives each leg's expected CDR from them.

The scenario code says *what* the gateway does (ring, answer, hang up...); this class turns it
into ``Step`` objects with consistent timestamps and keeps, per leg, the facts the CDR store's
rules need (valid ends with their ``ended_at``, whether a valid established was seen).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from cdr.hooks import (
    CallMeta,
    Direction,
    HangupMeta,
    RecordingArtifact,
    RecordingFormat,
)
from cdr.simulator.labels import leg_labels
from cdr.simulator.model import (
    Expected,
    ExpectedTransfer,
    Kind,
    Method,
    SimCall,
    Status,
    Step,
)
from cdr.simulator.values import SAMPLE_RATES, ByeReason, Values

_VALID_DIRECTIONS = {d.value for d in Direction}
MIN_GAP = 0.001  # seconds: keeps timestamps distinct and ordered whatever the time scale


@dataclass(slots=True)
class _LegState:
    meta: CallMeta
    established: bool = False
    ends: list[tuple[datetime, Method, HangupMeta]] = field(default_factory=list)


class CallBuilder:
    """Builds one ``SimCall``. Offsets are seconds from the main leg's ``started_at``."""

    def __init__(self, values: Values, index: int, kind: Kind, meta: CallMeta) -> None:
        assert meta.started_at is not None
        self.v = values
        self.index = index
        self.kind = kind
        self.meta = meta
        self.t0: datetime = meta.started_at
        self.steps: list[Step] = []
        self.legs: dict[str, _LegState] = {meta.call_id: _LegState(meta)}
        self.transfers: list[ExpectedTransfer] = []
        self.tags: set[str] = set()
        self.recording_started = False
        self.recording_sent = False
        self.last = -MIN_GAP  # offset of the last step added

    def clamp(self, offset: float) -> float:
        """Steps are added in the order they happen: keep each one at least MIN_GAP later."""
        return max(offset, self.last + MIN_GAP)

    def at(self, offset: float) -> datetime:
        return self.t0 + timedelta(seconds=offset)

    def add_leg(self, meta: CallMeta) -> None:
        self.legs[meta.call_id] = _LegState(meta)

    def _step(
        self,
        method: Method,
        args: tuple[object, ...],
        offset: float,
        leg: str,
        floating: bool = False,
        recording: str = "",
    ) -> None:
        self.last = offset
        self.steps.append(Step(method, args, offset, leg, floating, recording))

    def ringing(self, meta: CallMeta, offset: float) -> None:
        offset = self.clamp(offset)
        self._step(Method.RINGING, (meta,), offset, meta.call_id)

    def established(self, meta: CallMeta, offset: float, *, floating: bool = False) -> None:
        """Fire OnEstablished; the first one of the main leg starts the recording."""
        offset = self.clamp(offset)
        recording = ""
        if meta.call_id == self.meta.call_id and not self.recording_started:
            recording, self.recording_started = "begin", True
        if meta.direction in _VALID_DIRECTIONS:
            self.legs[meta.call_id].established = True
        self._step(Method.ESTABLISHED, (meta,), offset, meta.call_id, floating, recording)

    def _hangup(self, meta: CallMeta, offset: float, reason: ByeReason, since: float) -> HangupMeta:
        return HangupMeta(
            initiator=reason.initiator,
            sip_code=reason.sip_code,
            reason=reason.reason,
            duration=self.v.reported_duration(offset - since),
            ended_at=self.at(offset),
        )

    def _record_end(self, meta: CallMeta, method: Method, hangup: HangupMeta) -> None:
        if meta.direction in _VALID_DIRECTIONS:
            assert hangup.ended_at is not None
            self.legs[meta.call_id].ends.append((hangup.ended_at, method, hangup))

    def bye(self, meta: CallMeta, offset: float, reason: ByeReason, *, since: float) -> None:
        """Fire OnBye. The main leg's first bye carries the SN3 artifact, later ones are empty."""
        offset = self.clamp(offset)
        hangup = self._hangup(meta, offset, reason, since)
        recording = ""
        artifact = RecordingArtifact(call_id=meta.call_id)  # empty: second bye or agent leg
        if meta.call_id == self.meta.call_id and not self.recording_sent:
            recording, self.recording_sent = "finish", True
            artifact = replace(self.artifact(), payload=b"")  # payload comes from the runner
        self._record_end(meta, Method.BYE, hangup)
        self._step(Method.BYE, (meta, hangup, artifact), offset, meta.call_id, True, recording)

    def failed(self, meta: CallMeta, offset: float, reason: ByeReason, *, floating: bool) -> None:
        offset = self.clamp(offset)
        hangup = self._hangup(meta, offset, reason, 0.0)
        self._record_end(meta, Method.FAILED, hangup)
        self._step(Method.FAILED, (meta, hangup), offset, meta.call_id, floating)

    def transfer_started(self, offset: float, target_uri: str) -> float:
        offset = self.clamp(offset)
        self._step(Method.TRANSFER_STARTED, (self.meta, target_uri), offset, self.meta.call_id)
        return offset

    def bridge_started(self, offset: float, agent_call_id: str) -> None:
        offset = self.clamp(offset)
        args = (self.meta.call_id, agent_call_id)
        self._step(Method.BRIDGE_STARTED, args, offset, self.meta.call_id, True)

    def artifact(self) -> RecordingArtifact:
        codec = self.meta.codec
        return RecordingArtifact(
            call_id=self.meta.call_id,
            format=RecordingFormat.SN3,
            payload=b"",
            codec=codec,
            sample_rate=SAMPLE_RATES.get(codec, 8000),
            channels=1,
        )

    def _expected(self, leg: _LegState, tenant_id: int) -> Expected:
        meta = leg.meta
        assert meta.started_at is not None
        base = Expected(
            call_id=meta.call_id,
            direction=str(meta.direction),
            scenario=meta.scenario,
            correlation_id=meta.correlation_id,
            tenant_id=tenant_id,
            started_at=meta.started_at,
            status=Status.ESTABLISHED if leg.established else Status.RINGING,
            established=leg.established,
        )
        if not leg.ends:
            return base
        ended_at, method, hangup = min(leg.ends, key=lambda end: end[0])
        return replace(
            base,
            status=Status.COMPLETED if method is Method.BYE else Status.FAILED,
            ended_at=ended_at,
            hangup_initiator=str(hangup.initiator),
            sip_code=hangup.sip_code or None,
            hangup_reason=hangup.reason,
        )

    def build(self) -> SimCall:
        """Derive every leg's expected record; steps are already in the order they happen."""
        steps = tuple(self.steps)
        main_tenant = self.meta.tenant_id
        main = replace(
            self._expected(self.legs[self.meta.call_id], main_tenant),
            transfers=tuple(self.transfers),
            labels=leg_labels(self.meta, self.meta, tenant_id=main_tenant),
        )
        targets = {t.agent_call_id: t.target_uri for t in self.transfers}
        agents = tuple(
            replace(
                self._expected(leg, leg.meta.tenant_id or main_tenant),
                labels=leg_labels(leg.meta, self.meta, tenant_id=main_tenant, target_uri=targets.get(call_id, "")),
            )
            for call_id, leg in self.legs.items()
            if call_id != self.meta.call_id
        )
        return SimCall(self.index, self.kind, self.meta, steps, main, agents, frozenset(self.tags))
