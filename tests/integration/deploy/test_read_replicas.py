"""Read replicas against a real PostgreSQL streaming replica (cdr.db.replicas, cdr.middleware).

A primary cluster of our own (initdb on a free port) and a hot standby made from it with
``pg_basebackup -R``; the project under gunicorn with ``DATABASE_REPLICA_URLS``. Which copy served
a page shows in what it holds: with the standby's replay paused, rows written since are on the
primary only. Cases: a fit replica serves the API and the admin, and streams the export; a lagging
one past the bound and a stopped one give way to the primary (no error); the change feed and a
client that just wrote read the primary.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest

from cdr.db.replicas import REPLICA_LAG_SQL
from tests.support.gunicorn import ADMIN_PASSWORD, gunicorn, manage, production_env
from tests.support.postgres import PostgresCluster
from tests.support.processes import free_port

pytestmark = pytest.mark.skipif(shutil.which("runuser") is None and os.geteuid() == 0, reason="needs runuser")

MAX_LAG = 5.0


def _standby_of(primary: PostgresCluster) -> PostgresCluster:
    """A hot standby streaming from ``primary`` (pg_basebackup -R writes its primary_conninfo)."""
    standby = PostgresCluster(port=free_port(), user=primary.user, password=primary.password, database=primary.database)
    primary._run(
        str(primary.bin / "pg_basebackup"),
        *("-h", "127.0.0.1", "-p", str(primary.port), "-U", primary.user),
        *("-D", str(standby.data), "-R", "-X", "stream", "--no-sync"),
        env={"PGPASSWORD": primary.password},
    )
    if primary._as:
        shutil.chown(standby.root, "postgres")
    standby.start()
    return standby


def _sql(cluster: PostgresCluster, query: str) -> str:
    done = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", cluster.user, "-d", cluster.database, "-Atc", query],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PGPASSWORD": cluster.password},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _calls(cluster: PostgresCluster) -> int:
    return int(_sql(cluster, "SELECT count(*) FROM cdr_call"))


def _copy_calls(primary: PostgresCluster, n: int, tag: str) -> None:
    """Write ``n`` more calls on the primary at once (copies of stored ones under new Call-IDs)."""
    columns = _sql(
        primary,
        "SELECT string_agg(quote_ident(column_name), ',' ORDER BY ordinal_position) FROM information_schema.columns "
        "WHERE table_name = 'cdr_call' AND column_name NOT IN ('id', 'call_id')",
    )
    _sql(
        primary,
        f"INSERT INTO cdr_call (call_id, {columns}) SELECT call_id || '-{tag}', {columns} "
        f"FROM cdr_call ORDER BY id LIMIT {n}",
    )


@pytest.fixture(scope="module")
def clusters():
    primary = PostgresCluster(port=free_port(), user="cdr", password="replica-test", database="cdr")
    standby = None
    try:
        primary.init()
        standby = _standby_of(primary)
        yield primary, standby
    finally:
        for cluster in (standby, primary):
            if cluster is not None:
                cluster.close()


@pytest.fixture(scope="module")
def site(clusters, tmp_path_factory):
    primary, standby = clusters
    var = tmp_path_factory.mktemp("replicas")
    env = production_env(
        var,
        DATABASE_URL=primary.url,
        DATABASE_REPLICA_URLS=standby.url,
        CDR_REPLICA_MAX_LAG_SECONDS=str(MAX_LAG),
        CDR_REPLICA_CHECK_SECONDS="0.1",
        CDR_REPLICA_STICKY_SECONDS="2",
        CDR_API_CHANGES_SETTLE_SECONDS="1",  # the change feed holds back rows this young
        DJANGO_SUPERUSER_PASSWORD=ADMIN_PASSWORD,
    )
    manage(env, "migrate", "-v0")
    manage(env, "collectstatic", "--noinput", "-v0")
    manage(env, "createsuperuser", "--noinput", "--username", "ops", "--email", "ops@example.com")
    key = manage(env, "cdr_api_token", "create", "--user", "ops").stdout.strip()
    manage(env, "cdr_seed", "--calls", "40", "--tenants", "1", "--days", "1")
    with gunicorn(env, var / "gunicorn.log") as server:
        yield server, env, {"Authorization": f"Bearer {key}"}


def _caught_up(standby: PostgresCluster, primary: PostgresCluster) -> None:
    """The standby holds the primary's calls and streams with nothing left to replay: the lag the
    app measures (cdr.db.replicas) is 0. A standby just restarted has its rows before its WAL
    receiver is back, and measures the age of its last replayed transaction until then."""
    deadline = time.monotonic() + 30
    while _calls(standby) != _calls(primary) or _sql(standby, REPLICA_LAG_SQL) != "0":
        assert time.monotonic() < deadline, "the standby did not catch up"
        time.sleep(0.1)


def _listed(server, auth, query: str = "") -> tuple[int, dict[str, str], int]:
    status, headers, body = server.get(f"/api/v1/calls/?page_size=1000{query}", auth)
    return status, headers, len(json.loads(body)["results"]) if status == 200 else -1


def test_reads_follow_a_fit_replica_and_fall_back_when_it_lags_or_stops(clusters, site):
    primary, standby = clusters
    server, _, auth = site
    _caught_up(standby, primary)

    # A fit replica serves the API's list (it holds what the primary holds).
    status, headers, n = _listed(server, auth)
    assert (status, headers.get("X-CDR-Read-From"), n) == (200, "replica", 40)

    # Replay paused just after a write: the standby is behind, within the bound. Rows written
    # now exist on the primary only, and the pages do not show them: they were read on the replica.
    _copy_calls(primary, 1, "a")
    _caught_up(standby, primary)
    _sql(standby, "SELECT pg_wal_replay_pause()")
    try:
        _copy_calls(primary, 9, "b")
        assert (_calls(primary), _calls(standby)) == (50, 41)
        status, headers, n = _listed(server, auth)
        assert (status, headers.get("X-CDR-Read-From"), n) == (200, "replica", 41)
        # The export streams from the same replica after the view has returned.
        status, headers, body = server.get("/api/v1/calls/export?format=ndjson", auth)
        assert status == 200 and headers.get("X-CDR-Read-From") == "replica"
        assert len(body.splitlines()) == 41

        # The change feed never reads a replica: its settle window assumes it sees commits at once.
        status, headers, n = _listed(server, auth, "&order=updated")
        assert status == 200 and "X-CDR-Read-From" not in headers and n == 50

        # Past the bound: the primary serves, complete.
        deadline = time.monotonic() + 60
        while True:
            status, headers, n = _listed(server, auth)
            if "X-CDR-Read-From" not in headers:
                break
            assert time.monotonic() < deadline, "the lagging replica was never given up"
            time.sleep(0.2)
        assert (status, n) == (200, 50)
    finally:
        _sql(standby, "SELECT pg_wal_replay_resume()")

    # Caught up again: back on the replica.
    _caught_up(standby, primary)
    deadline = time.monotonic() + 30
    while _listed(server, auth)[1].get("X-CDR-Read-From") != "replica":
        assert time.monotonic() < deadline, "the replica was not taken back once caught up"
        time.sleep(0.2)

    # The admin's call list reads it too, once the login (a write) is STICKY_SECONDS behind.
    server.admin_login("ops")
    status, headers, _ = server.get("/admin/cdr/call/")
    assert status == 200 and "X-CDR-Read-From" not in headers  # just wrote: the primary
    time.sleep(2.1)
    status, headers, _ = server.get("/admin/cdr/call/")
    assert status == 200 and headers.get("X-CDR-Read-From") == "replica"

    # The replica stops: pages keep working from the primary.
    standby.stop()
    try:
        status, headers, n = _listed(server, auth)
        assert (status, headers.get("X-CDR-Read-From"), n) == (200, None, 50)
        status, headers, _ = server.get("/admin/cdr/call/")
        assert status == 200 and "X-CDR-Read-From" not in headers
    finally:
        standby.start()


def test_a_replica_that_stops_between_two_checks_fails_no_page(clusters, site, tmp_path):
    """Stopped right after a check found it fit: the next check is CHECK_SECONDS away, so the pages'
    own reads are what find it gone. Each is answered from the primary (and the replica is
    marked down), never with a 500."""
    primary, standby = clusters
    _, env, auth = site
    _caught_up(standby, primary)
    rare = {**env, "CDR_REPLICA_CHECK_SECONDS": "600"}
    # Two processes, each with its own health: one serves the API, the other the admin.
    with gunicorn(rare, tmp_path / "api.log") as api, gunicorn(rare, tmp_path / "admin.log") as admin:
        status, headers, _ = _listed(api, auth)
        assert (status, headers.get("X-CDR-Read-From")) == (200, "replica")
        admin.admin_login("ops")
        time.sleep(2.1)  # past the login's STICKY_SECONDS
        status, headers, _ = admin.get("/admin/cdr/call/")
        assert (status, headers.get("X-CDR-Read-From")) == (200, "replica")

        standby.stop("immediate")
        try:
            # The API's list (a DRF view) and the admin's (a template rendered after the view).
            status, headers, n = _listed(api, auth)
            assert (status, headers.get("X-CDR-Read-From"), n) == (200, None, _calls(primary))
            status, headers, _ = admin.get("/admin/cdr/call/")
            assert status == 200 and "X-CDR-Read-From" not in headers
            # Marked down: the next pages go to the primary at once, without a failed read first.
            status, headers, _ = _listed(api, auth)
            assert (status, headers.get("X-CDR-Read-From")) == (200, None)
        finally:
            standby.start()
    for log in ("api.log", "admin.log"):
        text = (tmp_path / log).read_text()
        assert "failed a read" in text and "Internal Server Error" not in text
