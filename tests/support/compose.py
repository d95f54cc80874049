"""docker-compose.yml run natively: each service's own command and environment, on loopback.

No Docker engine runs here, so the file is read (YAML, with compose's ``${VAR}`` interpolation)
and each service is started as a process:

- the project's image (``build: .``): the service's ``command`` in the environment the image
  (the Dockerfile's ``ENV``) and the service give it, from the checkout (the image's ``/app``),
  after the Dockerfile's build-time ``manage.py`` step (``collectstatic``);
- ``postgres``: a cluster of our own (``tests/support/postgres.py``) set up from the image's
  ``POSTGRES_*`` variables; ``redis``: ``redis-server`` with the service's arguments;
  ``chrislusf/seaweedfs``: ``weed`` with the service's arguments.

What only a container has is translated, nothing else: a host name ``service:port`` becomes
``127.0.0.1:<free port>`` (in the environment and the commands), a container path becomes a
directory under the test's root (named volumes, bind mounts, the image's paths), and a server
bound to ``0.0.0.0`` binds loopback. ``depends_on`` decides the order (``service_healthy`` runs the
service's healthcheck), and stopping a service is ``docker stop``: SIGTERM to its main process,
SIGKILL after ``stop_grace_period`` (10 s unless the file says otherwise).
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.support.dockerfile import DOCKERFILE, image_env, instructions
from tests.support.postgres import PostgresCluster, postgres_bin
from tests.support.processes import free_port, wait_port
from tests.support.s3 import free_ports, weed_binary

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"

# The ports the third-party images listen on inside their containers.
IMAGE_PORTS = {"postgres": 5432, "redis": 6379, "chrislusf/seaweedfs": 8333}

_INTERPOLATION = re.compile(r"\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}|\$(\w+)")


def interpolate(value: Any, variables: dict[str, str]) -> Any:
    """Compose's variable substitution: ``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}``, ``$$``."""
    if isinstance(value, dict):
        return {k: interpolate(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, variables) for v in value]
    if not isinstance(value, str):
        return value

    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(4)
        given = variables.get(name)
        op, arg = m.group(2), m.group(3) or ""
        unset = given is None or (given == "" and op is not None and op.startswith(":"))
        if op and op.endswith("?") and unset:
            raise ValueError(f"compose: {name}: {arg}")
        if op and op.endswith("-") and unset:
            return arg
        return given or ""

    return _INTERPOLATION.sub(one, value)


def _image_kind(image: str) -> str:
    return image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image


def _duration(text: str | None, default: float) -> float:
    if not text:
        return default
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text))


@dataclass
class Running:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    stopped: bool = False  # by stop(): the restart policy leaves it down
    exits: list[int] = field(default_factory=list)  # the codes of the exits the policy restarted


class ComposeStack:
    def __init__(self, root: Path, variables: dict[str, str], compose: Path = COMPOSE) -> None:
        self.root = root
        self.spec = interpolate(yaml.safe_load(compose.read_text()), variables)
        self.services: dict[str, dict[str, Any]] = self.spec["services"]
        self.volumes = {name: root / "volumes" / name for name in self.spec.get("volumes") or {}}
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self._ports: dict[tuple[str, int], int] = {}
        self.running: dict[str, Running] = {}
        self.stopped: set[str] = set()  # by stop(), until start()
        self._lock = threading.RLock()
        self._closed = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, name="compose-restart-policy", daemon=True)
        self.postgres: PostgresCluster | None = None
        dockerfile = DOCKERFILE.read_text()
        self.base_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        # The image's paths: its WORKDIR is this checkout, but what the build writes there
        # (collected static files) goes to the test's root; its virtualenv is this interpreter's.
        self.image_paths = {"/app/static": root / "image" / "static", "/app": ROOT, "/opt/venv": Path(sys.prefix)}
        self.image_env = image_env(dockerfile, self.base_env)
        self.dockerfile = instructions(dockerfile)

    # --- translation ---------------------------------------------------------------------
    def port(self, service: str, container_port: int) -> int:
        """The loopback port standing for ``service:container_port``."""
        return self._ports.setdefault((service, container_port), free_port())

    def url(self, service: str, container_port: int) -> str:
        return f"http://127.0.0.1:{self.port(service, container_port)}"

    def _published(self, name: str) -> list[int]:
        return [int(str(p).rsplit(":", 1)[-1].split("/")[0]) for p in self.services[name].get("ports") or []]

    def _mounts(self, name: str) -> dict[str, Path]:
        """{container path: host path} of the service's volumes (named ones under the test's root)."""
        mounts = {}
        for entry in self.services[name].get("volumes") or []:
            source, target = entry.split(":")[:2]
            host = ROOT / source if source.startswith(".") else self.volumes[source]
            if not source.startswith("."):
                host.mkdir(parents=True, exist_ok=True)
            mounts[target] = host
        return mounts

    def _paths(self, name: str, text: str) -> str:
        table = {**self.image_paths, **self._mounts(name)} if self._is_project(name) else self._mounts(name)
        for container in sorted(table, key=len, reverse=True):
            text = re.sub(rf"(?<![\w/]){re.escape(container)}(?=/|\b|$)", str(table[container]), text)
        return text

    def _hosts(self, text: str) -> str:
        def loopback(m: re.Match[str]) -> str:
            return f"127.0.0.1:{self.port(m.group(1), int(m.group(2)))}"

        names = "|".join(re.escape(n) for n in self.services)
        text = re.sub(rf"\b({names}):(\d+)\b", loopback, text)
        return text

    def _is_project(self, name: str) -> bool:
        return "build" in self.services[name]

    def env(self, name: str, **extra: str) -> dict[str, str]:
        """The environment a project service's processes get (also for ``exec``)."""
        env = dict(self.base_env, HOME=str(self.root / "home"), HOSTNAME=name)
        env |= {k: self._paths(name, v) for k, v in self.image_env.items()}
        for key, value in (self.services[name].get("environment") or {}).items():
            env[key] = self._paths(name, self._hosts(str(value)))
        return env | extra

    def command(self, name: str) -> list[str]:
        """The service's command with its hosts, paths and bind addresses translated."""
        spec = self.services[name]
        command = spec.get("command")
        if isinstance(command, str):
            command = shlex.split(command)
        if self._is_project(name):
            if command is None:
                command = next(shlex.split(args) for word, args in reversed(self.dockerfile) if word == "CMD")
            published = self._published(name)

            def bind(m: re.Match[str]) -> str:
                container_port = int(m.group(1))
                assert container_port in published, f"{name} listens on {container_port}, which it does not publish"
                return f"127.0.0.1:{self.port(name, container_port)}"

            return [re.sub(r"0\.0\.0\.0:(\d+)", bind, self._paths(name, self._hosts(w))) for w in command]
        kind = _image_kind(spec["image"])
        port = self.port(name, IMAGE_PORTS[kind])
        args = [self._paths(name, w) for w in command or []]
        if kind == "redis":
            data = self._mounts(name).get("/data", self.root / name)
            return [*args, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data)]
        if kind == "chrislusf/seaweedfs":
            assert args[:1] == ["server"] and "-s3" in args, args
            roles = ["master", "mgrpc", "volume", "vgrpc", "filer", "fgrpc", "s3grpc"]
            p = dict(zip(roles, free_ports(len(roles)), strict=True))
            return [
                weed_binary(),
                *args,
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                f"-master.port={p['master']}",
                f"-master.port.grpc={p['mgrpc']}",
                "-master.volumeSizeLimitMB=64",
                "-master.telemetry=false",
                f"-volume.port={p['volume']}",
                f"-volume.port.grpc={p['vgrpc']}",
                "-volume.max=8",
                f"-filer.port={p['filer']}",
                f"-filer.port.grpc={p['fgrpc']}",
                f"-s3.port={port}",
                f"-s3.port.grpc={p['s3grpc']}",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
            ]
        raise NotImplementedError(f"{name}: no native stand-in for the image {spec['image']!r}")

    # --- the image's build step ------------------------------------------------------------
    def build(self) -> None:
        """The Dockerfile's ``RUN`` steps that run the project (``manage.py``), e.g. collectstatic."""
        steps = [
            part.strip()
            for word, args in self.dockerfile
            if word == "RUN"
            for part in args.split("&&")
            if "manage.py" in part
        ]
        assert steps, "the Dockerfile runs no manage.py step"
        env = dict(self.base_env, HOME=str(self.root / "home"))
        env |= {k: str(self._paths_image(v)) for k, v in self.image_env.items()}
        for step in steps:
            done = subprocess.run(["sh", "-c", step], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, f"build step {step!r} failed:\n{done.stdout}\n{done.stderr}"

    def _paths_image(self, text: str) -> str:
        for container in sorted(self.image_paths, key=len, reverse=True):
            text = re.sub(rf"(?<![\w/]){re.escape(container)}(?=/|\b|$)", str(self.image_paths[container]), text)
        return text

    # --- running -----------------------------------------------------------------------------
    def order(self) -> list[str]:
        done: list[str] = []

        def visit(name: str) -> None:
            if name not in done:
                for dependency in self.services[name].get("depends_on") or {}:
                    visit(dependency)
                done.append(name)

        for name in self.services:
            visit(name)
        return done

    def up(self) -> None:
        (self.root / "home").mkdir(exist_ok=True)
        # The image builds while the other services start (`docker compose up --build` pulls them meanwhile).
        failure: list[BaseException] = []

        def build() -> None:
            try:
                self.build()
            except BaseException as exc:
                failure.append(exc)

        builder = threading.Thread(target=build, name="compose-build")
        builder.start()
        self._supervisor.start()
        for name in self.order():
            if (self._is_project(name) and builder.is_alive()) or failure:
                builder.join()
                if failure:
                    raise failure[0]
            for dependency, rule in (self.services[name].get("depends_on") or {}).items():
                self.wait(dependency, (rule or {}).get("condition", "service_started"))
            self.start(name)

    def start(self, name: str) -> None:
        self.stopped.discard(name)
        spec = self.services[name]
        if "build" not in spec and _image_kind(spec["image"]) == "postgres":
            self._start_postgres(name)
            return
        log = self.logs / f"{name}.log"
        env = self.env(name) if self._is_project(name) else dict(self.base_env, HOME=str(self.root / "home"))
        with self._lock, open(log, "ab") as out:
            proc = subprocess.Popen(
                self.command(name), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
            previous = self.running.get(name)
            self.running[name] = Running(name, proc, log, exits=previous.exits if previous else [])

    def _supervise(self) -> None:
        """The services' ``restart`` policies: a process that exits on its own is started again."""
        while not self._closed.wait(0.2):
            with self._lock:
                for name, running in list(self.running.items()):
                    code = running.proc.poll()
                    if code is None or running.stopped:
                        continue
                    policy = str(self.services[name].get("restart", "no"))
                    running.stopped = True  # handled: restarted below, or left down by its policy
                    if policy in ("always", "unless-stopped") or (policy.startswith("on-failure") and code != 0):
                        running.exits.append(code)
                        self.start(name)

    def _start_postgres(self, name: str) -> None:
        if self.postgres is None:
            env = self.services[name].get("environment") or {}
            user = env.get("POSTGRES_USER", "postgres")
            self.postgres = PostgresCluster(
                port=self.port(name, 5432),
                user=user,
                password=env["POSTGRES_PASSWORD"],
                database=env.get("POSTGRES_DB", user),
            )
            self.postgres.init()
        else:
            self.postgres.start()

    def healthy(self, name: str) -> bool:
        """The service's healthcheck, run natively against its loopback port."""
        test = self.services[name]["healthcheck"]["test"]
        assert test[0] == "CMD-SHELL", test
        port = self.port(name, IMAGE_PORTS[_image_kind(self.services[name]["image"])])
        env = dict(self.base_env, PGHOST="127.0.0.1", PGPORT=str(port))
        env["PATH"] = f"{postgres_bin()}:{env['PATH']}"
        return subprocess.run(["sh", "-c", test[1]], env=env, capture_output=True, timeout=30).returncode == 0

    def wait(self, name: str, condition: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        if condition == "service_healthy":
            while not self.healthy(name):
                assert time.monotonic() < deadline, f"{name} is not healthy"
                time.sleep(0.2)
        elif condition == "service_completed_successfully":
            proc = self.running[name].proc
            assert proc.wait(timeout) == 0, f"{name} exited with {proc.returncode}:\n{self.tail(name)}"
        elif not self._is_project(name):
            # "started" is all compose promises; a server's port taking connections is what we wait for.
            wait_port(self.port(name, IMAGE_PORTS[_image_kind(self.services[name]["image"])]), timeout)

    def stop(self, name: str) -> int:
        """``docker stop``: SIGTERM to the main process, SIGKILL to all of it after the grace period."""
        self.stopped.add(name)
        with self._lock:
            running = self.running.get(name)
            if running is not None:
                running.stopped = True
        if running is not None and running.proc.poll() is None:
            running.proc.send_signal(signal.SIGTERM)
            try:
                running.proc.wait(_duration(self.services[name].get("stop_grace_period"), 10.0))
            except subprocess.TimeoutExpired:
                os.killpg(running.proc.pid, signal.SIGKILL)
                running.proc.wait()
            return running.proc.returncode
        if self.postgres is not None and name == self._postgres_service():
            self.postgres.stop()
        return 0

    def restore(self) -> None:
        """Start again every service stopped by ``stop()`` (a test that failed midway leaves none down)."""
        for name in self.order():
            if name in self.stopped:
                self.start(name)

    def _postgres_service(self) -> str:
        return next(n for n, s in self.services.items() if "image" in s and _image_kind(s["image"]) == "postgres")

    def run(self, name: str, *args: str, timeout: float = 300, **extra: str) -> subprocess.CompletedProcess[str]:
        """``docker compose exec name args...`` (a project service): the command with its environment."""
        done = subprocess.run(
            list(args), cwd=ROOT, env=self.env(name, **extra), capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, f"{shlex.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done

    def tail(self, name: str, lines: int = 40) -> str:
        log = self.logs / f"{name}.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""

    def log_size(self, name: str) -> int:
        log = self.logs / f"{name}.log"
        return log.stat().st_size if log.exists() else 0

    def log_since(self, name: str, offset: int) -> str:
        with open(self.logs / f"{name}.log", "rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def down(self) -> None:
        self._closed.set()
        with self._lock:
            for running in self.running.values():
                running.stopped = True
        for name in reversed(self.order()):
            running = self.running.get(name)
            if running is not None and running.proc.poll() is None:
                try:
                    os.killpg(running.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                running.proc.wait()
        if self.postgres is not None:
            self.postgres.close()
