"""project/gunicorn.conf.py and how docker-compose.yml and the Dockerfile give every service its own
metrics directory, emptied when the service starts (the counting itself: tests/e2e/test_metrics_processes.py)."""

from __future__ import annotations

import importlib.util
import json
import shlex
from pathlib import Path
from types import SimpleNamespace

import yaml

ROOT = Path(__file__).resolve().parents[3]


def _conf():
    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "project" / "gunicorn.conf.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_server_start_empties_the_metrics_directory(tmp_path, monkeypatch):
    conf = _conf()
    directory = tmp_path / "metrics" / "web"
    (directory / "leftover").mkdir(parents=True)
    (directory / "counter_17.db").write_bytes(b"x")
    (directory / "leftover" / "histogram_18.db").write_bytes(b"x")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    conf.on_starting(server=None)
    assert directory.is_dir() and list(directory.iterdir()) == []
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory.parent / "fresh"))
    conf.on_starting(server=None)
    assert (directory.parent / "fresh").is_dir()


def test_without_the_variable_nothing_is_touched(tmp_path, monkeypatch):
    conf = _conf()
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    (tmp_path / "counter_17.db").write_bytes(b"x")
    conf.on_starting(server=None)
    conf.child_exit(server=None, worker=SimpleNamespace(pid=17))
    assert [p.name for p in tmp_path.iterdir()] == ["counter_17.db"]


def test_an_exited_worker_loses_its_live_gauges_and_keeps_its_counters(tmp_path, monkeypatch):
    conf = _conf()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    for name in (
        "counter_17.db",
        "histogram_17.db",
        "gauge_livesum_17.db",
        "gauge_liveall_17.db",
        "gauge_livesum_18.db",
    ):
        (tmp_path / name).write_bytes(b"")
    conf.child_exit(server=None, worker=SimpleNamespace(pid=17))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counter_17.db", "gauge_livesum_18.db", "histogram_17.db"]


def test_compose_gives_each_service_its_own_directory_and_the_web_reads_them_all():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    dirs = {
        name: services[name]["environment"].get("PROMETHEUS_MULTIPROC_DIR")
        for name in services
        if name in ("web", "worker", "media-worker", "beat")
    }
    assert dirs["beat"] is None  # beat counts nothing: single-process mode
    counting = [dirs["web"], dirs["worker"], dirs["media-worker"]]
    assert len(set(counting)) == 3 and all(d.startswith("/var/lib/cdr/") for d in counting)  # the shared volume
    web = services["web"]
    assert set(web["environment"]["CDR_METRICS_DIRS"].split(",")) == {dirs["worker"], dirs["media-worker"]}
    assert web["command"][:3] == ["gunicorn", "-c", "project/gunicorn.conf.py"]
    for name in ("worker", "media-worker"):
        script = services[name]["command"][-1]
        assert script.startswith(
            'rm -rf "$$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$$PROMETHEUS_MULTIPROC_DIR" && exec '
        )
    # Every counting service also has the rest of the shared environment.
    for name in ("web", "worker", "media-worker"):
        assert services[name]["environment"]["DATABASE_URL"] == services["beat"]["environment"]["DATABASE_URL"]


def test_the_image_runs_gunicorn_with_the_config_file():
    (cmd,) = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD ")]
    args = json.loads(cmd.removeprefix("CMD "))
    assert args[:3] == ["gunicorn", "-c", "project/gunicorn.conf.py"], shlex.join(args)
