"""The project run as docker-compose.yml's web runs it: production mode, collected static files, gunicorn."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.web import ADMIN_PASSWORD, Server

ROOT = Path(__file__).resolve().parents[2]
__all__ = ["ADMIN_PASSWORD", "Server", "gunicorn", "manage", "production_env"]


def production_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """DJANGO_DEBUG=0 on the embedded database and storage under var_dir; extra overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CDR_", "CELERY_", "AWS_"))}
    env.pop("DATABASE_URL", None)
    env |= {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "CDR_VAR_DIR": str(var_dir),
        "DJANGO_STATIC_ROOT": str(var_dir / "static"),
        "DJANGO_SETTINGS_MODULE": "project.settings",
    }
    return env | extra


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "manage.py", *args]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def gunicorn(env: dict[str, str], log: Path, *, workers: int = 1) -> Iterator[Server]:
    """docker-compose.yml's web command (its config file included) on a free loopback port."""
    port = _free_port()
    cmd = [sys.executable, "-m", "gunicorn", "-c", "project/gunicorn.conf.py", "project.wsgi"]
    cmd += ["-b", f"127.0.0.1:{port}", "-w", str(workers)]
    with open(log, "wb") as out:
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", urllib.request.build_opener(urllib.request.HTTPCookieProcessor()))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                server.get("/healthz")
                break
            except OSError:
                assert process.poll() is None, f"gunicorn exited:\n{log.read_text()}"
                assert time.monotonic() < deadline, f"gunicorn did not answer:\n{log.read_text()}"
                time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)
