"""The stack docker-compose.yml defines, run as deployed (tests/support/compose.py: each service's own
command and environment, natively, on loopback), driven by the gateway simulator over HTTP and
through the in-process sinks, and checked from outside as an operator would: pages, probes,
metrics, playback, a worker stopped mid-drain, PostgreSQL restarted under load.

One stack for the module (starting it costs most of the time); each test leaves it running.
"""

from __future__ import annotations

import html
import json
import re
import secrets
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from cdr import simulator
from cdr.simulator.http_gateway import HttpGateway
from tests.support.compose import ROOT, ComposeStack
from tests.support.traffic import TENANTS, Traffic
from tests.support.web import ADMIN_PASSWORD, Server, metric_values

pytestmark = pytest.mark.e2e

METRICS_TOKEN = "compose-metrics-token-0123456789"


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 120.0, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


@dataclass
class Deployed:
    compose: ComposeStack
    web: Server
    key_id: str
    secret: str
    fed: list[Traffic] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        return metric_values(self.web, METRICS_TOKEN)

    def ready(self) -> tuple[int, dict[str, Any]]:
        status, _, body = self.web.get("/readyz")
        return status, json.loads(body)

    def check(self) -> dict[str, Any]:
        """The stored calls against the oracle of everything fed so far (tests/support/stack_check.py)."""
        traffic = json.dumps([json.loads(t.dumps()) for t in self.fed])
        done = self.compose.run("web", "python", "-m", "tests.support.stack_check", traffic)
        return json.loads(done.stdout)

    def settled(self, timeout: float = 180.0) -> dict[str, Any]:
        """Poll until every fed call is stored as the oracle says (or time out and show the differences)."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.check()
            if not state["problems"] and not state["queued"]:
                return state
            if time.monotonic() > deadline:
                return state
            time.sleep(1)

    def http_gateway(self) -> HttpGateway:
        return HttpGateway(self.web.url, self.key_id, self.secret, clock=simulator.SimClock())

    def feed_http(self, traffic: Traffic, **run: Any) -> HttpGateway:
        """Post the traffic's hook calls as a gateway in another process does; returns the closed gateway."""
        self.fed.append(traffic)
        gateway = self.http_gateway()
        simulator.run(traffic.generate(), gateway, threads=4, clock=gateway._clock, **run)  # type: ignore[arg-type]
        assert gateway.close(timeout=120), gateway.stats()
        return gateway


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> Iterator[Deployed]:
    root = tmp_path_factory.mktemp("compose")
    # What an operator puts in .env beside docker-compose.yml.
    dotenv = {"DJANGO_SECRET_KEY": secrets.token_urlsafe(50), "CDR_METRICS_TOKEN": METRICS_TOKEN}
    compose = ComposeStack(root, dotenv)
    try:
        compose.up()
        web = Server.at(compose.url("web", 8000))

        def answers() -> bool:
            try:
                return web.get("/healthz")[0] == 200
            except OSError:
                assert compose.running["web"].proc.poll() is None, f"web exited:\n{compose.tail('web')}"
                return False

        wait_for(answers, "the web service to answer /healthz", timeout=180)
        # docker compose exec web python manage.py createsuperuser / cdr_gateway create
        manage = ["python", "manage.py"]
        tenants = [arg for t in TENANTS for arg in ("--tenant", str(t))]
        with ThreadPoolExecutor(2) as pool:  # two commands at once: each spends seconds starting Django
            superuser = pool.submit(
                compose.run,
                *("web", *manage, "createsuperuser", "--noinput", "--username", "ops", "--email", "ops@example.com"),
                DJANGO_SUPERUSER_PASSWORD=ADMIN_PASSWORD,
            )
            issued = compose.run("web", *manage, "cdr_gateway", "create", "edge-1", *tenants).stdout
            superuser.result()
        credentials = dict(line.split("=", 1) for line in issued.split())
        yield Deployed(compose, web, credentials["key_id"], credentials["secret"])
    finally:
        compose.down()


@pytest.fixture(autouse=True)
def _stack_left_running(deployed):
    """Each test leaves the stack running, also when it fails with a service stopped."""
    yield
    deployed.compose.restore()


def test_the_admin_styles_and_the_report_charts_load_with_debug_off(deployed):
    assert deployed.compose.env("web")["DJANGO_DEBUG"] == "0"
    web = deployed.web
    status, _, page = web.get("/admin/login/")
    assert status == 200
    (css,) = re.findall(rb'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page)
    status, headers, body = web.get(css.decode())
    assert status == 200 and headers["Content-Type"].startswith("text/css") and b"--body-bg" in body

    deployed.feed_http(Traffic.ended_before(datetime.now(UTC), seed=14, calls=5))  # tenants to report on
    wait_for(lambda: deployed.metrics()["cdr_http_events_queued"] == 0, "the worker to store them")
    web.admin_login("ops")
    # A superuser lands on the all-tenants overview (no chart): follow its first tenant's link.
    status, _, overview = web.get("/admin/cdr/report/")
    assert status == 200
    first = re.search(rb'<tr><td><a href="([^"]+)">', overview)
    assert first, overview[-2000:]
    status, _, page = web.get("/admin/cdr/report/" + html.unescape(first.group(1).decode()))
    assert status == 200
    (chart,) = re.findall(rb'<script src="(/static/cdr/vendor/chart\.umd\.min\.[0-9a-f]{12}\.js)"', page)
    status, headers, body = web.get(chart.decode())
    assert status == 200 and headers["Content-Type"].startswith("text/javascript") and b"Chart" in body


def _consuming(compose: ComposeStack, name: str, since: int) -> bool:
    """The worker runs and consumes: it did not exit since ``since`` (a log offset), or it was
    started again (the restart policy) and says it is ready."""
    log = compose.log_since(name, since)
    crashed = log.rfind("Unrecoverable error")
    return compose.running[name].proc.poll() is None and (crashed < 0 or " ready." in log[crashed:])


def test_readyz_names_the_broker_while_redis_is_stopped(deployed):
    compose = deployed.compose
    assert deployed.ready() == (200, {"status": "ok", "checks": {"database": "ok", "broker": "ok", "recordings": "ok"}})
    workers = {name: compose.log_size(name) for name in compose.running if "worker" in compose.command(name)}
    deployed.compose.stop("redis")
    try:
        status, body = deployed.ready()
        assert (status, body["down"]) == (503, ["broker"])
        assert deployed.web.get("/healthz")[0] == 200  # the process itself is fine
    finally:
        deployed.compose.start("redis")
    wait_for(lambda: deployed.ready()[0] == 200, "/readyz to answer 200 with Redis back", timeout=30)
    # A worker holding a task when Redis went away may exit (kombu's "Unrecoverable error") instead
    # of reconnecting: compose's restart policy starts it again.
    for name, offset in workers.items():
        wait_for(lambda: _consuming(compose, name, offset), f"{name} to consume again", timeout=60)  # noqa: B023
    for name, running in compose.running.items():
        assert name == "migrate" or running.proc.poll() is None, f"{name} is down:\n{compose.tail(name)}"


def _unacked(deployed: Deployed, queue: str) -> set[bytes]:
    """Delivery tags of ``queue``'s messages delivered to a worker and not acknowledged (broker side)."""
    import redis

    client = redis.Redis(port=deployed.compose.port("redis", 6379), socket_timeout=5)
    return {tag for tag, raw in client.hgetall("unacked").items() if json.loads(raw)[2] == queue}


def test_a_worker_given_sigterm_finishes_its_drain_and_loses_nothing_while_metrics_move(deployed):
    compose = deployed.compose
    before = deployed.metrics()
    assert before["cdr_http_events_queued"] == 0

    assert compose.stop("worker") == 0  # idle: a clean stop
    gateway = deployed.feed_http(Traffic.ended_before(datetime.now(UTC), seed=15, calls=800))
    accepted = gateway.stats()["accepted"]
    queued = deployed.metrics()
    assert queued["cdr_http_events_queued"] == accepted > 2000  # nothing stored without a worker
    assert queued["cdr_http_batches_queued"] > 0 and queued["cdr_http_queue_oldest_age_seconds"] > 0

    # Left behind by a worker that exited without restoring them (kombu's crash, see the Redis
    # test); the broker hands them out again after the visibility timeout.
    orphans = _unacked(deployed, "cdr")
    compose.start("worker")  # beat's next drain (every 2 s) is waiting for it in the broker
    wait_for(
        lambda: 0 < deployed.metrics()["cdr_http_events_queued"] < accepted and _unacked(deployed, "cdr") - orphans,
        "the worker to be mid-drain",
        every=0.05,
    )
    offset = compose.log_size("worker")
    assert compose.stop("worker") == 0, compose.tail("worker")  # SIGTERM: warm shutdown, not a kill
    assert "Warm shutdown" in compose.log_since("worker", offset)
    assert _unacked(deployed, "cdr") <= orphans  # the drain in hand finished and was acknowledged
    compose.start("worker")

    state = deployed.settled()
    assert state["problems"] == [], "\n".join(state["problems"][:20])
    assert state["set_aside"] == 0
    after = wait_for(
        lambda: (m := deployed.metrics())["cdr_rollup_legs_pending"] == 0 and m, "beat's rollups to catch up"
    )
    assert after["cdr_http_events_queued"] == 0 and after["cdr_http_queue_oldest_age_seconds"] == 0


def test_postgresql_restarted_under_load_loses_and_doubles_nothing_and_a_recording_plays_from_s3(deployed, tmp_path):
    compose = deployed.compose
    now = datetime.now(UTC)
    through_sink = Traffic.ended_before(now, seed=151, calls=120)
    over_http = Traffic.ended_before(now, seed=152, calls=240)
    deployed.fed += [through_sink, over_http]

    # A gateway process with the in-process sinks, configured as the workers are (its own var dir).
    sink_log = tmp_path / "sink_gateway.log"
    gateway_env = compose.env("worker", CDR_VAR_DIR=str(tmp_path / "gateway"))
    with open(sink_log, "wb") as out:
        sink = subprocess.Popen(
            ["python", "-m", "tests.support.sink_gateway", through_sink.dumps(), "--rate", "12"],
            cwd=ROOT,
            env=gateway_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    gateway = deployed.http_gateway()
    calls = over_http.generate()
    http = threading.Thread(
        target=simulator.run, args=(calls, gateway), kwargs={"threads": 4, "rate": 24, "clock": gateway._clock}
    )
    http.start()
    try:
        wait_for(lambda: gateway.stats()["accepted"] > 0, "the HTTP edge to accept events")
        compose.stop("postgres")
        status, body = deployed.ready()
        assert (status, body["down"]) == (503, ["database"])
        time.sleep(2)  # both keep feeding while the database is down
        assert sink.poll() is None and http.is_alive(), "the traffic ended before the restart: raise --rate"
        compose.start("postgres")
        http.join(timeout=120)
        assert gateway.close(timeout=120), gateway.stats()
        assert sink.wait(timeout=180) == 0, sink_log.read_text()[-3000:]
    finally:
        if sink.poll() is None:
            sink.kill()
        gateway.close(timeout=1)
    assert gateway.stats()["retries"] > 0  # the edge did refuse while the database was down
    (sink_stats,) = [json.loads(line) for line in sink_log.read_text().splitlines() if line.startswith("{")]
    assert sink_stats["sink"]["dropped_buffer_full"] == 0 and sink_stats["hook_errors"] == 0, sink_stats

    state = deployed.settled()
    assert state["problems"] == [], "\n".join(state["problems"][:20])
    assert state["set_aside"] == 0
    assert deployed.ready()[0] == 200

    # A recording the sink uploaded, transcoded by the media worker, played through its signed link.
    wav = state["wav_recordings"] or wait_for(lambda: deployed.check()["wav_recordings"], "a WAV", every=1)
    deployed.web.admin_login("ops")
    with deployed.web.opener.open(f"{deployed.web.url}/recordings/{wav[0]}/link/?purpose=playback", timeout=10) as r:
        played_from, audio = r.url, r.read()
    assert played_from.startswith(compose.url("s3", 8333) + "/"), played_from  # redirected to S3 itself
    assert audio[:4] == b"RIFF" and audio[8:12] == b"WAVE" and len(audio) > 44
