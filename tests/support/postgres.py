"""A PostgreSQL cluster of our own (initdb + pg_ctl on a free loopback port), so a test can stop and
restart it without touching the shared server on 5432.

It is set up the way the ``postgres`` image's entrypoint sets up a fresh volume from
``POSTGRES_USER``, ``POSTGRES_PASSWORD`` and ``POSTGRES_DB``: that user is the superuser, clients
over TCP log in with the password (scram-sha-256), and the database exists. PostgreSQL refuses to
run as root: under root the cluster belongs to the ``postgres`` system user (``runuser``).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path


def postgres_bin() -> Path:
    """The newest installed server's binaries (Debian: /usr/lib/postgresql/<major>/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("initdb not found under /usr/lib/postgresql/*/bin: apt-get install postgresql")
    return Path(found[-1]).parent


class PostgresCluster:
    def __init__(self, *, port: int, user: str, password: str, database: str) -> None:
        self.port, self.user, self.password, self.database = port, user, password, database
        self.bin = postgres_bin()
        self._as: list[str] = []
        owner = None
        if os.geteuid() == 0:
            self._as = ["runuser", "-u", "postgres", "--"]
            owner = pwd.getpwnam("postgres")
        # Not under pytest's tmp dir: that is private to root, and the server runs as postgres.
        self.root = Path(tempfile.mkdtemp(prefix="cdr-pg-"))
        if owner is not None:
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self.data = self.root / "data"
        self.log = self.root / "server.log"

    @property
    def url(self) -> str:
        return f"postgres://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    def _run(self, *args: str, env: dict[str, str] | None = None) -> None:
        done = subprocess.run(
            [*self._as, *args], capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")

    def init(self) -> None:
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self._as:
            shutil.chown(pwfile, "postgres")
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.user,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--no-instructions",
        )
        pwfile.unlink()
        self.start()
        self._run(
            str(self.bin / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            self.user,
            self.database,
            env={"PGPASSWORD": self.password},
        )

    def start(self) -> None:
        # fsync off: a test's cluster needs no crash safety (the machine does not crash; the
        # server is only ever stopped or restarted, which writes everything out).
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast``: what an operator's restart does (sessions are ended, a checkpoint is written)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def close(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self.stop("immediate")
            except RuntimeError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)
