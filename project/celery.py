"""The Celery application (`project.celery.app`), configured from Django settings (CELERY_*)."""

import gc
import os
import time
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_process_init, worker_process_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
# Celery's Django fixup closes the DB connection after every task unless told to keep it;
# reusing it is worth ~2.4x on small write tasks (see docs/reference/measured-limits.md).
os.environ.setdefault("CELERY_DB_REUSE_MAX", "1000")

app = Celery("project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _freeze_startup_objects(**_: object) -> None:
    """Keep the framework's objects out of full garbage collections in each pool process."""
    gc.freeze()


# --- task metrics (cdr.metrics): connected once, here, for every task of every worker -------------
# The outcome comes from the state task_postrun reports: SUCCESS, RETRY (a retry was scheduled:
# autoretry_for or self.retry) or FAILURE (raised, retries exhausted, time limit). Eager tasks
# (the embedded default) are counted too, in the process that runs them. A pool process killed by the
# hard time limit sends nothing: its message is redelivered (acks_late) and counted when it ends.
_started: dict[str, float] = {}
_OUTCOMES = {"SUCCESS": "success", "RETRY": "retry", "FAILURE": "failure"}


@task_prerun.connect
def _task_started(task_id: str | None = None, **_: Any) -> None:
    if task_id is not None:
        _started[task_id] = time.perf_counter()


@task_postrun.connect
def _task_finished(task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any) -> None:
    from cdr.metrics import TASK_DURATION, TASKS, task_label

    started = _started.pop(task_id, None) if task_id is not None else None
    name = task_label(getattr(task, "name", None))
    outcome = _OUTCOMES.get(state or "")
    if outcome is not None:
        TASKS.labels(task=name, outcome=outcome).inc()
    if started is not None:
        TASK_DURATION.labels(task=name).observe(time.perf_counter() - started)


@worker_process_shutdown.connect
def _metrics_process_dead(**_: object) -> None:
    """A pool process leaves: its live gauges stop counting (counters stay summed, as they must)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())
