"""Migration 0023 on an installation with history: the unpartitioned event log becomes the
partitioned one with every row, each in its month, unique by (fingerprint, scope), and a
re-delivery of everything afterwards adds nothing."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime

import psycopg
import pytest

from cdr.lifecycle.events import content_time
from tests.support.gunicorn import manage, production_env
from tests.support.partitions import BEFORE, events_insert_unpartitioned, raw_events, scratch_database
from tests.support.records import call_events

URL = os.environ.get("DATABASE_URL", "")
on_postgres = pytest.mark.skipif(not URL.startswith("postgres"), reason="partitions are PostgreSQL's")


def _one(url: str, query: str) -> object:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchone()[0]


@on_postgres
def test_an_existing_event_log_is_converted_and_stays_idempotent(tmp_path):
    raws = raw_events(600, datetime(2025, 9, 3, tzinfo=UTC), months=6)
    raws += call_events("far@gw", 2, datetime(2044, 2, 1, tzinfo=UTC))  # a clock years off
    raws += [{"type": "nope", "call_id": "bad@gw", "observed_at": "2026-01-01T00:00:00Z"}]
    with scratch_database(URL, URL.rsplit("/", 1)[1] + "_convert") as url:
        env = production_env(tmp_path, DATABASE_URL=url)
        manage(env, "migrate", "cdr", BEFORE)
        seeded = events_insert_unpartitioned(url, raws)
        manage(env, "migrate")

        assert _one(url, "SELECT relkind FROM pg_class WHERE relname = 'cdr_callevent'") == "p"
        assert _one(url, "SELECT count(*) FROM cdr_callevent") == seeded
        assert _one(url, "SELECT count(*) FROM (SELECT DISTINCT fingerprint, scope FROM cdr_callevent) d") == seeded
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT payload, content_at, tableoid::regclass::text FROM cdr_callevent").fetchall()
            months = {name for (name,) in conn.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'cdr_callevent'::regclass"
            )}  # fmt: skip
        assert all(content_time(payload) == at for payload, at, _ in rows)
        assert {f"cdr_callevent_p{y}{m:02d}" for y, m in ((2025, 9), (2025, 12), (2026, 2))} <= months
        for _, at, name in rows:
            expected = {1970: "cdr_callevent_undated", 2044: "cdr_callevent_default"}
            assert name == expected.get(at.year, f"cdr_callevent_p{at.year}{at.month:02d}")

        # Everything delivered again, in reverse: all duplicates, no new row.
        (tmp_path / "raws.json").write_text(json.dumps(raws[::-1]))
        done = manage(
            env,
            "shell",
            "-v",
            "0",
            "-c",
            "import json; from cdr.services import events_ingest; "
            f"r = events_ingest(events=json.load(open({str(tmp_path / 'raws.json')!r}))); "
            "print(r.accepted, r.duplicate, r.rejected)",
        )
        assert done.stdout.split() == ["0", str(len(raws) - 1), "1"]
        assert _one(url, "SELECT count(*) FROM cdr_callevent") == seeded


def test_on_sqlite_existing_rows_get_their_content_at_and_the_table_stays_plain(tmp_path):
    env = production_env(tmp_path)
    manage(env, "migrate", "cdr", BEFORE)
    raws = call_events("old@gw", 3, datetime(2025, 9, 3, 10, tzinfo=UTC))
    db = tmp_path / "cdr.sqlite3"
    seeded = events_insert_unpartitioned(f"sqlite:{db}", raws)
    manage(env, "migrate")
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT payload, content_at FROM cdr_callevent").fetchall()
    assert len(rows) == seeded == len(raws)
    stored = [datetime.fromisoformat(at).replace(tzinfo=UTC) for _, at in rows]
    assert stored == [content_time(json.loads(payload)) for payload, _ in rows]
    assert sum(at.year == 2025 for at in stored) == len(raws) - 1  # the bridge names no time
