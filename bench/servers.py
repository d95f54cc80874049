"""What the HTTP benchmarks start: a scratch database, the project's environment, gunicorn.

bench/ingest_http.py and bench/go_client.py run the project the same way (production mode, the
embedded key for gateway secrets shared with the bench process that encrypts them), so they share
this. Asserts nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The server decrypts the gateway secret the bench process encrypts: one key for both.
GATEWAY_SECRET_KEY = "bench-gateway-secrets"


def scratch_database(name: str) -> str:
    """Drop and re-create ``name`` on the local PostgreSQL, migrate it, point this process at it."""
    for sql in (f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)
    url = f"postgres://postgres@127.0.0.1:5432/{name}"
    os.environ["DATABASE_URL"] = url
    os.environ["CDR_GATEWAY_SECRET_KEY"] = GATEWAY_SECRET_KEY
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)
    return url


def server_env(tmp: Path, *, database_url: str, broker_url: str) -> dict[str, str]:
    """The project's environment in production mode, its state under ``tmp``."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp),
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "CDR_VAR_DIR": str(tmp),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-secret-key",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_LOG_LEVEL": "ERROR",
        "CDR_GATEWAY_SECRET_KEY": GATEWAY_SECRET_KEY,
    }


def gunicorn(
    env: dict[str, str], port: int, *, workers: int = 2, threads: int = 1, config: str | None = None
) -> subprocess.Popen[bytes]:
    """gunicorn serving the project on 127.0.0.1:port, in a session of its own (stop: terminate())."""
    cmd = [sys.executable, "-m", "gunicorn", "project.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers)]
    cmd += ["--threads", str(threads), "--log-level", "warning", *(["-c", config] if config else [])]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
