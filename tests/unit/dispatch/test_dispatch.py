"""cdr.dispatch: every task it names exists, and work is queued after commit, by name."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cdr import dispatch

ROOT = Path(__file__).resolve().parents[3]


def test_every_task_name_dispatch_hands_over_is_a_registered_task():
    for name in dispatch.TASK_NAMES:
        assert dispatch._task(name).name == name


def test_a_process_that_never_imported_the_tasks_still_finds_them():
    """The web process never imports cdr.tasks: dispatch has Celery's loader register them."""
    script = (
        "import django, os, sys; os.environ['DJANGO_SETTINGS_MODULE'] = 'project.settings'; django.setup()\n"
        "from cdr import dispatch\n"
        "assert 'cdr.tasks' not in sys.modules\n"
        "print(sorted(dispatch._task(n).name for n in dispatch.TASK_NAMES))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "CDR_VAR_DIR": "/tmp/cdr-dispatch-test"}
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == str(sorted(dispatch.TASK_NAMES))


def test_threads_asking_for_tasks_at_once_in_a_fresh_process_all_find_them():
    """A gateway process's recording upload threads failed together (NotRegistered) on first use."""
    script = (
        "import django, os, threading; os.environ['DJANGO_SETTINGS_MODULE'] = 'project.settings'; django.setup()\n"
        "from cdr import dispatch\n"
        "errors, start = [], threading.Barrier(8)\n"
        "def ask():\n"
        "    start.wait()\n"
        "    try:\n"
        "        dispatch._task(dispatch.RECORDING_UPLOAD)\n"
        "    except Exception as exc:\n"
        "        errors.append(repr(exc))\n"
        "threads = [threading.Thread(target=ask) for _ in range(8)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "print(errors)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "CDR_VAR_DIR": "/tmp/cdr-dispatch-test"}
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]"


def test_a_failed_enqueue_after_commit_is_logged_not_raised(monkeypatch, transactional_db, caplog):
    from django.db import transaction

    def broker_down(name, *args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(dispatch, "enqueue", broker_down)
    with transaction.atomic():
        dispatch.enqueue_on_commit(dispatch.RECORDING_TRANSCODE, 7)
    assert "broker down" in caplog.text and "enqueue_committed" in caplog.text


def test_enqueue_on_commit_waits_for_the_commit(monkeypatch, transactional_db):
    from django.db import transaction

    sent = []
    monkeypatch.setattr(dispatch, "enqueue", lambda name, *args, **kwargs: sent.append((name, args)))
    with transaction.atomic():
        dispatch.enqueue_on_commit(dispatch.RECORDING_TRANSCODE, 7)
        assert sent == []
    assert sent == [(dispatch.RECORDING_TRANSCODE, (7,))]
    with transaction.atomic():
        dispatch.enqueue_on_commit(dispatch.RECORDING_TRANSCODE, 8)
        transaction.set_rollback(True)
    assert sent == [(dispatch.RECORDING_TRANSCODE, (7,))]


def test_a_task_time_limit_is_told_apart_from_other_failures():
    from celery.exceptions import SoftTimeLimitExceeded

    assert dispatch.is_task_time_limit(SoftTimeLimitExceeded())
    assert not dispatch.is_task_time_limit(TimeoutError())
    assert not dispatch.is_task_time_limit(RuntimeError("SoftTimeLimitExceeded"))
