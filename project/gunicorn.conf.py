"""gunicorn settings of the web process: ``gunicorn -c project/gunicorn.conf.py project.wsgi``.

Used by docker-compose.yml's web and the Dockerfile's CMD; bind and workers stay on the command
line. With ``PROMETHEUS_MULTIPROC_DIR`` set (project/metrics.py), each worker keeps its counters in
files there: the directory is emptied when the server starts (a previous run's files would be
summed in for ever) and a worker that exits has its live gauges dropped.
https://prometheus.github.io/client_python/multiprocess/
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any


def metrics_dir_reset(path: str) -> None:
    """Empty (or create) this service's metrics directory; runs before any worker exists."""
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    for entry in directory.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink(missing_ok=True)


def on_starting(server: Any) -> None:
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        metrics_dir_reset(path)


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
