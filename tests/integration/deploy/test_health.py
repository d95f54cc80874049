"""/healthz and /readyz: in-process for the rules, under gunicorn for real dependencies going down."""

from __future__ import annotations

import json
import os
import socket
import urllib.parse

import pytest

from tests.support.gunicorn import gunicorn, production_env

# An address nothing listens on (bound, never listening: connecting is refused at once).
_closed = socket.socket()
_closed.bind(("127.0.0.1", 0))
CLOSED_PORT = _closed.getsockname()[1]


@pytest.mark.django_db
def test_healthz_answers_any_host_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_readyz_on_the_embedded_default_checks_database_and_recordings_not_a_broker(client, local_recordings):
    response = client.get("/readyz/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "recordings": "ok"}}
    assert local_recordings.is_dir()


def test_probes_answer_only_get_and_head(client):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code != 200


def _ready(server):
    status, headers, body = server.get("/readyz")
    assert headers["Content-Type"] == "application/json"
    return status, json.loads(body)


def test_readyz_under_gunicorn_with_every_dependency_up(tmp_path):
    database = os.environ.get("DATABASE_URL")
    if not database or not database.startswith("postgres"):
        pytest.skip("needs DATABASE_URL=postgres://...")
    # The server's maintenance database: SELECT 1 needs no table, and it always exists.
    database = urllib.parse.urlsplit(database)._replace(path="/postgres").geturl()
    env = production_env(tmp_path, DATABASE_URL=database, CELERY_BROKER_URL="redis://127.0.0.1:6379/15")
    with gunicorn(env, tmp_path / "gunicorn.log") as server:
        assert _ready(server) == (
            200,
            {"status": "ok", "checks": {"database": "ok", "broker": "ok", "recordings": "ok"}},
        )


def test_readyz_names_the_broker_when_it_is_down(tmp_path):
    env = production_env(tmp_path, CELERY_BROKER_URL=f"redis://127.0.0.1:{CLOSED_PORT}/0")
    with gunicorn(env, tmp_path / "gunicorn.log") as server:
        assert server.get("/healthz")[0] == 200  # the process itself is fine
        status, body = _ready(server)
    assert status == 503
    assert body == {
        "status": "unavailable",
        "down": ["broker"],
        "checks": {"database": "ok", "broker": "down", "recordings": "ok"},
    }


def test_readyz_names_the_database_and_the_recordings_storage_when_they_are_down(tmp_path):
    env = production_env(
        tmp_path,
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{CLOSED_PORT}/cdr",
        CDR_S3_BUCKET="recordings",
        CDR_S3_ENDPOINT_URL=f"http://127.0.0.1:{CLOSED_PORT}",
        AWS_ACCESS_KEY_ID="probe",
        AWS_SECRET_ACCESS_KEY="probe-secret",
    )
    with gunicorn(env, tmp_path / "gunicorn.log") as server:
        status, body = _ready(server)
    assert status == 503
    assert body["down"] == ["database", "recordings"]
    # Nothing about where or why: that is in the log, not in an unauthenticated answer.
    assert str(CLOSED_PORT) not in json.dumps(body)
