"""Generate realistic call records fast, for benchmarks (admin, reports, export).

Rows go straight into the tables (PostgreSQL ``COPY``; plain multi-row INSERTs elsewhere),
bypassing the ingestion pipeline: it is what a table looks like after months of traffic, not a
test of the pipeline. Shapes follow the simulator (``cdr.simulator.values``): a few large tenants
and a long tail, carrier trunks that send most inbound calls, answered/failed/expired mixes with
realistic SIP codes and initiators, transferred inbound calls with a bridged agent leg linked by
correlation id, the labels the simulator's gateway sets (``cdr.simulator.labels``: numbers, DID,
campaign), and a few live calls in the last minutes. Start times follow a working-day curve
and rows are written in start-time order, as a live table is.
"""

from __future__ import annotations

import io
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from cdr.models import Call, Hangup, Tenant, Transfer
from cdr.simulator.labels import call_labels

ZONES = (
    "Europe/Paris",
    "America/New_York",
    "Asia/Tokyo",
    "UTC",
    "Europe/London",
    "America/Los_Angeles",
    "Australia/Sydney",
    "Asia/Kolkata",
)
HOSTS = ("gw1.example.net", "sbc.carrier.example", "10.20.0.4", "pbx.example")
CODECS = (("pcma", 0.7), ("pcmu", 0.15), ("g722", 0.1), ("opus", 0.05))
# Calls per hour of day (UTC): quiet nights, a working-day plateau.
HOURLY = (1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 13, 11, 12, 14, 14, 13, 11, 8, 6, 4, 3, 2, 1)
FAILURES = (
    (486, "Busy Here", 0.35),
    (480, "Temporarily Unavailable", 0.2),
    (487, "Request Terminated", 0.2),
    (404, "Not Found", 0.08),
    (503, "Service Unavailable", 0.07),
    (603, "Decline", 0.05),
    (408, "Request Timeout", 0.03),
    (302, "Moved Temporarily", 0.02),
)
CALL_COLUMNS = (
    "id", "call_id", "correlation_id", "tenant_id", "direction", "scenario", "status", "remote_addr", "local_ip",
    "codec", "started_at", "ringing_at", "established_at", "ended_at", "duration_ms", "billable_ms", "pdd_ms",
    "hangup_initiator", "sip_code", "hangup_reason", "updated_at", "labels", "transferred",
)  # fmt: skip
LABELS = CALL_COLUMNS.index("labels")
HANGUP_COLUMNS = ("call_id", "kind", "initiator", "sip_code", "reason", "reported_duration_ms", "ended_at")
TRANSFER_COLUMNS = (
    "inbound_id", "target_uri", "attempt", "attempted_at", "outbound_call_id", "outbound_id", "bridged_at", "outcome",
)  # fmt: skip
# Calls younger than this are still ringing or established (the "active calls" view).
LIVE_WINDOW = timedelta(minutes=3)


@dataclass
class SeedResult:
    calls: int = 0
    hangups: int = 0
    transfers: int = 0
    tenants: int = 0
    seconds: float = 0.0
    method: str = ""

    @property
    def rate(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0


@dataclass
class _Batch:
    calls: list[tuple] = field(default_factory=list)
    hangups: list[tuple] = field(default_factory=list)
    transfers: list[tuple] = field(default_factory=list)


class _Generator:
    def __init__(self, *, tenants: int, days: float, seed: int, now: datetime, first_tenant: int):
        self.rng = random.Random(seed)
        self.now = now
        self.span = timedelta(days=days).total_seconds()
        self.tenant_ids = list(range(first_tenant, first_tenant + tenants))
        # Zipf-like: the first tenant is the biggest, a long tail of small ones.
        self.tenant_weights = [1 / (i + 1) for i in range(tenants)]
        # Each tenant's carrier trunks: most of its inbound calls come from these few addresses.
        self.trunks = {
            t: [
                f"{self.rng.choice(('198.51.100', '203.0.113', '192.0.2'))}.{self.rng.randint(1, 254)}"
                for _ in range(3)
            ]
            for t in self.tenant_ids
        }
        self.codecs, self.codec_weights = zip(*CODECS, strict=True)
        self.fail_codes = [(c, r) for c, r, _ in FAILURES]
        self.fail_weights = [w for _, _, w in FAILURES]

    def start_times(self, n: int) -> list[datetime]:
        """``n`` start times over the period, on the working-day curve, oldest first."""
        rng, peak, out = self.rng, max(HOURLY), []
        start = self.now.timestamp() - self.span
        while len(out) < n:
            ts = start + rng.random() * self.span
            if rng.random() * peak < HOURLY[int(ts // 3600) % 24]:
                out.append(ts)
        out.sort()
        return [datetime.fromtimestamp(ts, UTC) for ts in out]

    def call_id(self) -> str:
        return f"{uuid.UUID(int=self.rng.getrandbits(128), version=4).hex}@{self.rng.choice(HOSTS)}"

    def remote(self, tenant: int) -> str:
        rng = self.rng
        host = rng.choice(self.trunks[tenant]) if rng.random() < 0.8 else f"203.0.113.{rng.randint(1, 254)}"
        return f"{host}:{5060 if rng.random() < 0.7 else rng.randint(1024, 65535)}"

    def calls(self, starts: list[datetime], next_id: Callable[[], int]) -> _Batch:
        """One leg per start time: an agent leg takes the place of the next start, so the row
        count is exact and the period stays evenly filled up to ``now``."""
        rng, batch, skip = self.rng, _Batch(), 0
        for started in starts:
            if skip:
                skip -= 1
                continue
            tenant = rng.choices(self.tenant_ids, self.tenant_weights)[0]
            inbound = rng.random() < 0.7
            row = self._leg(next_id(), started, tenant, inbound, batch)
            # 6% of answered inbound calls are transferred to an agent: a second, outbound leg.
            if inbound and row[6] == "completed" and rng.random() < 0.06 and self._transfer(row, next_id, batch):
                skip += 1
                batch.calls[-2] = (*row[:-1], True)  # the inbound leg, just before its agent leg
        return batch

    def _leg(
        self, pk: int, started: datetime, tenant: int, inbound: bool, batch: _Batch, *, scenario: str | None = None,
        correlation: str = "", answered: bool | None = None, talk: float | None = None,
    ) -> tuple:  # fmt: skip
        rng, now = self.rng, self.now
        call_id = self.call_id()
        if scenario is None:
            scenario = rng.choice(("", "ivr", "queue", "")) if inbound else rng.choice(("campaign", ""))
        if not correlation and scenario == "campaign":
            correlation = f"camp:{rng.randint(1, 40)}:contact:{rng.randint(1, 500_000)}:attempt:1"
        pdd = rng.uniform(0.1, 3.0)
        ringing = started + timedelta(seconds=pdd)
        live = now - started < LIVE_WINDOW
        roll = rng.random()
        if answered is None:
            answered = roll < 0.74
        established = ended = initiator = reason = None
        sip = None
        if live:
            status = "established" if answered else "ringing"
            if answered:
                established = ringing + timedelta(seconds=rng.uniform(1.5, 20))
        elif answered:
            status = "completed"
            established = ringing + timedelta(seconds=rng.uniform(1.5, 20))
            talk = talk if talk is not None else min(max(rng.expovariate(1 / 75.0), 3.0), 900.0)
            ended = established + timedelta(seconds=talk)
            initiator = rng.choices(("remote", "local", "unknown"), (0.55, 0.4, 0.05))[0]
            sip = 200 if rng.random() < 0.5 else None
            reason = "normal clearing" if sip else rng.choice(("", "user hangup"))
        elif roll < 0.99:
            status = "failed"
            ended = ringing + timedelta(seconds=rng.uniform(0.5, 30))
            initiator = rng.choices(("local", "remote"), (0.6, 0.4))[0]
            sip, reason = rng.choices(self.fail_codes, self.fail_weights)[0]
        else:
            status = "expired"
            ended = ringing
            initiator, reason = "unknown", "no end event before the timeout"
        ms = lambda a, b: int((b - a).total_seconds() * 1000) if a and b else None  # noqa: E731
        row = (
            pk, call_id, correlation, tenant, "inbound" if inbound else "outbound", scenario, status,
            self.remote(tenant) if inbound else f"192.0.2.{rng.randint(1, 254)}:5060", f"10.0.0.{rng.randint(2, 9)}",
            rng.choices(self.codecs, self.codec_weights)[0], started, ringing, established, ended,
            ms(started, ended), ms(established, ended), int(pdd * 1000), initiator or "", sip, reason or "", now,
            "{}", False,
        )  # fmt: skip
        if scenario != "transfer_agent":  # an agent leg's labels name its target: set by _transfer
            labels = call_labels(call_id, scenario=scenario, correlation_id=correlation, tenant_id=tenant)
            row = (*row[:LABELS], json.dumps(labels), *row[LABELS + 1 :])
        batch.calls.append(row)
        if ended is not None:
            kind = {"completed": "bye", "failed": "failed", "expired": "expired"}[status]
            reported = ms(started, ended) if rng.random() < 0.4 else 0
            batch.hangups.append((pk, kind, initiator, sip, reason or "", reported, ended))
        return row

    def _transfer(self, inbound: tuple, next_id: Callable[[], int], batch: _Batch) -> bool:
        rng = self.rng
        established, ended = inbound[12], inbound[13]
        attempted = established + timedelta(seconds=rng.uniform(5, 60))
        if attempted >= ended:
            return False
        agent_start = attempted + timedelta(seconds=0.05)
        answered = rng.random() < 0.85
        talk = max((ended - agent_start).total_seconds() - rng.uniform(0, 1), 1.0)
        agent = self._leg(
            next_id(), agent_start, inbound[3], False, batch, scenario="transfer_agent", correlation=inbound[1],
            answered=answered, talk=talk,
        )  # fmt: skip
        bridged = agent[12] + timedelta(seconds=0.2) if agent[6] == "completed" else None
        outcome = "bridged" if bridged else "failed"
        target = f"sip:agent-{rng.randint(100, 999)}@pbx.example"
        batch.transfers.append((inbound[0], target, 1, attempted, agent[1], agent[0], bridged, outcome))
        labels = call_labels(inbound[1], scenario="", correlation_id="", tenant_id=inbound[3], agent=target)
        batch.calls[-1] = (*agent[:LABELS], json.dumps(labels), *agent[LABELS + 1 :])
        return True


def _copy_text(value: object) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _copy(cursor: object, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    buf = io.StringIO()
    for row in rows:
        # Generated values never contain tabs, newlines or backslashes: no escaping needed.
        buf.write("\t".join(map(_copy_text, row)))
        buf.write("\n")
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
        copy.write(buf.getvalue())


def _insert(cursor: object, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    adapt = connection.ops.adapt_datetimefield_value
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    cursor.executemany(sql, [[adapt(v) if isinstance(v, datetime) else v for v in row] for row in rows])  # type: ignore[attr-defined]


def _reserve_ids(n: int) -> Iterator[int]:
    """A block of ``n`` call ids that no concurrent insert will take."""
    table = Call._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            (seq,) = cursor.fetchone()
            cursor.execute("SELECT nextval(%s)", [seq])
            (first,) = cursor.fetchone()
            cursor.execute("SELECT setval(%s, %s)", [seq, first + n])
        else:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")
            (first,) = cursor.fetchone()
    return iter(range(first, first + n + 1))


def calls_seed(
    *,
    calls: int,
    tenants: int = 20,
    days: float = 30,
    seed: int = 1,
    first_tenant: int = 1,
    chunk: int = 100_000,
    now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> SeedResult:
    """Write about ``calls`` call legs (transfers add agent legs: the total is exact) with their
    hangups and transfers, over the ``days`` before ``now``, for tenants ``first_tenant``.. ."""
    if calls < 0 or tenants < 1 or days <= 0:
        raise ValueError("calls >= 0, tenants >= 1 and days > 0 are required")
    began = time.perf_counter()
    now = now or datetime.now(UTC)
    gen = _Generator(tenants=tenants, days=days, seed=seed, now=now, first_tenant=first_tenant)
    pg = connection.vendor == "postgresql"
    write = _copy if pg else _insert
    Tenant.objects.bulk_create(
        [Tenant(id=t, name=f"Seed tenant {t}", time_zone=ZONES[i % len(ZONES)]) for i, t in enumerate(gen.tenant_ids)],
        ignore_conflicts=True,
    )
    # An agent leg may spill one row past a chunk: reserve a few spare ids.
    ids = _reserve_ids(calls + 1000)
    starts = gen.start_times(calls)
    result = SeedResult(tenants=tenants, method="COPY" if pg else "INSERT")
    position = 0
    while result.calls < calls and position < len(starts):
        batch = gen.calls(starts[position : position + chunk], lambda: next(ids))
        position += chunk
        overflow = result.calls + len(batch.calls) - calls
        if overflow > 0:  # keep whole inbound+agent pairs: drop trailing rows and what links to them
            kept = {row[0] for row in batch.calls[: len(batch.calls) - overflow]}
            batch.calls = [r for r in batch.calls if r[0] in kept]
            batch.hangups = [h for h in batch.hangups if h[0] in kept]
            batch.transfers = [t for t in batch.transfers if t[0] in kept and t[5] in kept]
        with transaction.atomic(), connection.cursor() as cursor:
            write(cursor, Call._meta.db_table, CALL_COLUMNS, batch.calls)
            write(cursor, Hangup._meta.db_table, HANGUP_COLUMNS, batch.hangups)
            write(cursor, Transfer._meta.db_table, TRANSFER_COLUMNS, batch.transfers)
        result.calls += len(batch.calls)
        result.hangups += len(batch.hangups)
        result.transfers += len(batch.transfers)
        if progress:
            progress(result.calls)
    if pg:
        with connection.cursor() as cursor:
            for model in (Call, Hangup, Transfer, Tenant):
                cursor.execute(f"ANALYZE {model._meta.db_table}")
    result.seconds = time.perf_counter() - began
    return result
