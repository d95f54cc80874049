"""Real services started by tests on loopback: a private Redis and Celery workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


class RedisServer:
    """A redis-server of our own, so stopping or freezing it touches nobody else.

    It persists with appendfsync always: a production broker must not lose queued tasks on
    restart either (README's configuration table, ``CELERY_BROKER_URL``: ``appendonly yes``).
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def freeze(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def llen(self, key: str) -> int:
        import redis

        return int(redis.Redis(port=self.port, socket_timeout=2).llen(key))


class Worker:
    """`celery -A project worker` in its own process group, killable with SIGKILL."""

    def __init__(
        self, env: dict[str, str], *, queues: str = "cdr", concurrency: int = 2, nice: int = 0, name: str = ""
    ) -> None:
        self.env = env
        self.name = name  # the node name (``-n``): two workers on one machine answer remote control apart
        self.queues = queues
        self.concurrency = concurrency
        self.nice = nice  # CPU priority below the web server's (bench/ingest_http.py --worker-nice, docs/benchmarks.md)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = env.get("CDR_VAR_DIR", "/tmp") + "/worker.log"

    def start(self) -> None:
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "project",
            "worker",
            "-Q",
            self.queues,
            "-c",
            str(self.concurrency),
            "--pool",
            "prefork",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "INFO",
        ]
        if self.name:
            cmd += ["-n", self.name]
        if self.nice:
            cmd = ["nice", "-n", str(self.nice), *cmd]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and children): no chance to ack or clean up."""
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
            self.proc = None
