"""An event log as an installation before migration 0023 has it (unpartitioned, no content_at):
a scratch database migrated to 0022 and seeded with real, fingerprinted events, for the conversion
test and bench/partition_convert.py."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from cdr.lifecycle.events import Event, parse_event
from cdr.services.provenance import event_scope
from tests.support.records import call_events

BEFORE = "0022_recording_unready"


def raw_events(calls: int, first: datetime, months: int) -> list[dict[str, Any]]:
    """``calls`` transferred calls (8 events each, one a bridge) spread over ``months`` months."""
    step = timedelta(days=30 * months) / max(calls, 1)
    out = []
    for n in range(calls):
        out += call_events(f"seed{n}@gw", 1 + n % 5, first + n * step)
    return out


def events_insert_unpartitioned(url: str, raws: list[dict[str, Any]]) -> int:
    """Write these events as the ingestion of 0022 did (one row per fingerprint and scope): COPY on
    PostgreSQL, INSERTs into ``sqlite:<path>``."""
    received = datetime(2030, 1, 1, tzinfo=UTC)
    rows = {}
    for raw in raws:
        item = parse_event(raw, received_at=received)
        rows.setdefault((item.fingerprint, event_scope(item.payload)), item)
    columns = "fingerprint, scope, call_id, type, status, reason, observed_at, source, payload, received_at"
    values = [
        (fp, scope, item.call_id, item.type, "accepted" if isinstance(item, Event) else "rejected",
         getattr(item, "reason", ""), item.observed_at, "sink", json.dumps(item.payload), received)
        for (fp, scope), item in rows.items()
    ]  # fmt: skip
    if url.startswith("sqlite:"):
        with sqlite3.connect(url.removeprefix("sqlite:")) as conn:
            conn.executemany(
                f"INSERT INTO cdr_callevent ({columns}) VALUES ({', '.join(['?'] * 10)})",
                [(*v[:6], v[6].isoformat(sep=" ")[:26], *v[7:9], v[9].isoformat(sep=" ")[:26]) for v in values],
            )
        return len(rows)
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        with cursor.copy(f"COPY cdr_callevent ({columns}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)
    return len(rows)


@contextmanager
def scratch_database(base_url: str, name: str) -> Iterator[str]:
    """A new empty database beside ``base_url``'s; dropped afterwards."""
    admin = base_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
