"""Realistic field values (ids, addresses, codecs, tenants, durations, BYE reasons).

All randomness comes from one seeded ``random.Random`` so a traffic set is reproducible; the
shapes follow docs/reference/event-semantics.md (lowercase codecs, Go ``uint`` tenants, zero
``Duration``/``SIPCode`` that the store must not trust).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import timedelta

from cdr.hooks import HangupInitiator

CODECS: tuple[tuple[str, float], ...] = (
    ("pcma", 0.7),
    ("pcmu", 0.15),
    ("g722", 0.1),
    ("opus", 0.05),
)
SAMPLE_RATES: dict[str, int] = {
    "pcma": 8000,
    "pcmu": 8000,
    "g722": 16000,
    "opus": 48000,
}
HOSTS = ("gw1.example.net", "sbc.carrier.example", "10.20.0.4", "pbx.example")
LARGE_TENANT = 2**40 + 7

# (initiator, sip_code, reason, weight): RFC 3326 reasons; code and phrase are often missing.
REMOTE_BYES = (
    (HangupInitiator.REMOTE, 200, "normal clearing", 0.35),
    (HangupInitiator.REMOTE, 0, "user hangup", 0.15),
    (HangupInitiator.REMOTE, 0, "", 0.40),
    (HangupInitiator.UNKNOWN, 0, "", 0.10),
)
LOCAL_BYES = (
    (HangupInitiator.LOCAL, 200, "normal clearing", 0.35),
    (HangupInitiator.LOCAL, 408, "timer expired", 0.15),
    (HangupInitiator.LOCAL, 0, "user hangup", 0.2),
    (HangupInitiator.LOCAL, 0, "", 0.3),
)


@dataclass(frozen=True, slots=True)
class ByeReason:
    initiator: HangupInitiator
    sip_code: int
    reason: str


class Values:
    """Draws field values; ``time_scale`` compresses every duration (1.0 = real time)."""

    def __init__(
        self,
        rng: random.Random,
        *,
        tenants: int,
        time_scale: float,
        p_large_tenant: float,
    ):
        if tenants < 1:
            raise ValueError("tenants must be >= 1")
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.rng = rng
        self.tenants = tenants
        self.time_scale = time_scale
        self.p_large_tenant = p_large_tenant

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def call_id(self) -> str:
        hex_id = uuid.UUID(int=self.rng.getrandbits(128), version=4).hex
        return f"{hex_id}@{self.rng.choice(HOSTS)}"

    def tenant(self) -> int:
        if self.chance(self.p_large_tenant):
            return LARGE_TENANT
        return self.rng.randint(1, self.tenants)

    def remote_addr(self) -> str:
        net = self.rng.choice(("198.51.100", "203.0.113", "192.0.2"))
        port = 5060 if self.chance(0.6) else self.rng.randint(1024, 65535)
        return f"{net}.{self.rng.randint(1, 254)}:{port}"

    def local_ip(self) -> str:
        return f"10.0.0.{self.rng.randint(2, 9)}"

    def codec(self) -> str:
        names = [c for c, _ in CODECS]
        return self.rng.choices(names, weights=[w for _, w in CODECS])[0]

    def seconds(self, low: float, high: float) -> float:
        """A uniform duration in [low, high] real seconds, time-scaled."""
        return self.rng.uniform(low, high) * self.time_scale

    def talk_time(self) -> float:
        """Conversation length: mostly under two minutes, a tail of long calls (3 s .. 15 min)."""
        real = min(max(self.rng.expovariate(1 / 75.0), 3.0), 900.0)
        return real * self.time_scale

    def reported_duration(self, actual: float) -> timedelta:
        """What the gateway puts in HangupMeta.Duration: often zero, else the real duration."""
        if self.chance(0.6):
            return timedelta(0)
        return timedelta(seconds=round(actual, 3))

    def bye(self, local: bool) -> ByeReason:
        table = LOCAL_BYES if local else REMOTE_BYES
        row = self.rng.choices(table, weights=[r[3] for r in table])[0]
        return ByeReason(row[0], row[1], row[2])

    def campaign_correlation(self) -> str:
        return (
            f"camp:{self.rng.randint(1, 40)}:contact:{self.rng.randint(1, 500_000)}"
            f":attempt:{self.rng.choices((1, 2, 3), weights=(0.7, 0.2, 0.1))[0]}"
        )
