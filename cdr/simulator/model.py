"""Value types of the gateway simulator: the hook steps of a call and the outcome it must produce.

These are plain frozen dataclasses so a generated traffic set can be shared between threads,
compared in tests and used as the oracle of the end-to-end tests without copying.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from cdr.hooks import CallMeta


class Kind(StrEnum):
    """The traffic patterns the simulator mixes; each one is something the gateway really does."""

    INBOUND_ANSWERED = "inbound_answered"
    INBOUND_REJECTED = "inbound_rejected"
    INBOUND_CANCELLED = "inbound_cancelled"  # ringing, then no end event at all
    INBOUND_INVALID_REINVITE = "inbound_invalid_reinvite"  # re-INVITE with "inbound_reinvite"
    CAMPAIGN = "campaign"
    TRANSFER = "transfer"


class Method(StrEnum):
    """LifecycleSink method names; the value is the Python method the runner calls."""

    RINGING = "on_ringing"
    ESTABLISHED = "on_established"
    TRANSFER_STARTED = "on_transfer_started"
    BRIDGE_STARTED = "on_bridge_started"
    BYE = "on_bye"
    FAILED = "on_failed"


class Status(StrEnum):
    """CDR status as the store derives it (see ``Expected``)."""

    RINGING = "ringing"
    ESTABLISHED = "established"
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Step:
    """One hook invocation, in the order the gateway makes it.

    ``floating`` marks steps the gateway dispatches from another goroutine (byes, re-INVITEs,
    agent-leg responses): only those may be delivered out of order by the runner. ``recording``
    is ``"begin"`` on the step where the call's recording starts (first established of the main
    leg) and ``"finish"`` on the bye that carries the SN3 artifact.
    """

    method: Method
    args: tuple[Any, ...]
    offset: float  # seconds from the SimCall's start (already time-scaled)
    leg: str  # the call id of the leg this step is about
    floating: bool = False
    recording: str = ""


@dataclass(frozen=True, slots=True)
class ExpectedTransfer:
    """One transfer attempt of an inbound call, in the order it was tried."""

    target_uri: str
    agent_call_id: str
    bridged: bool


@dataclass(frozen=True, slots=True)
class Expected:
    """What the CDR store must hold for one leg once every step was delivered (the test oracle).

    ``tenant_id`` is the meta's tenant, or for a transfer agent leg reported with tenant 0 the
    inbound leg's tenant. The deciding end is the bye/failed with the earliest ``ended_at``;
    the end fields are ``None`` when no end event exists (status ``ringing``/``established``).
    ``sip_code`` is ``None`` when the gateway reported 0; ``hangup_reason`` is kept as sent.
    """

    call_id: str
    direction: str
    scenario: str
    correlation_id: str
    tenant_id: int
    started_at: datetime
    status: Status
    established: bool
    ended_at: datetime | None = None
    hangup_initiator: str | None = None
    sip_code: int | None = None
    hangup_reason: str | None = None
    transfers: tuple[ExpectedTransfer, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)  # set_labels before the leg's first hook


@dataclass(frozen=True, slots=True)
class SimCall:
    """One call as the gateway handles it: its main leg, any agent legs, every hook step."""

    index: int
    kind: Kind
    meta: CallMeta  # the main leg (inbound or campaign)
    steps: tuple[Step, ...]
    expected: Expected  # the main leg
    agent_legs: tuple[Expected, ...] = ()  # transfer agent legs, in attempt order
    tags: frozenset[str] = field(default_factory=frozenset)  # e.g. "reinvite", "crossing_byes"

    @property
    def labels(self) -> dict[str, dict[str, str]]:
        """Each leg's labels by Call-ID: the runner sets them before the leg's first hook."""
        return {e.call_id: e.labels for e in self.all_expected if e.labels}

    @property
    def call_id(self) -> str:
        return self.meta.call_id

    @property
    def all_expected(self) -> tuple[Expected, ...]:
        """Every leg's expected record: the main leg first, then the agent legs."""
        return (self.expected, *self.agent_legs)

    @property
    def span(self) -> float:
        """Seconds from the first to the last step."""
        return self.steps[-1].offset if self.steps else 0.0


@dataclass(frozen=True, slots=True)
class Mix:
    """Traffic proportions. Kind weights are relative; the ``p_*`` values are probabilities."""

    inbound_answered: float = 0.48
    inbound_rejected: float = 0.12
    inbound_cancelled: float = 0.03
    inbound_invalid_reinvite: float = 0.03
    campaign: float = 0.22
    transfer: float = 0.12
    p_ringing_repeated: float = 0.2
    p_reinvite: float = 0.15
    p_crossing_byes: float = 0.10
    p_non_200: float = 0.15  # campaign failures reported as reason "non_200", code 0
    p_campaign_answered: float = 0.55
    p_agent_no_answer: float = 0.35  # each transfer attempt before the last that fails 480
    p_agent_tenant_zero: float = 0.8  # agent legs reported with tenant 0
    p_large_tenant: float = 0.02  # tenant ids like 2**40 + 7 (Go uint)

    def weights(self) -> dict[Kind, float]:
        return {kind: float(getattr(self, kind.value)) for kind in Kind}
