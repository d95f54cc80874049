"""Start-up pays only for what a process uses: the project's Celery app loads with the first import of
Celery (so @shared_task tasks still bind to it), and ``manage.py cdr_decode`` sets nothing up.

Each case runs in a fresh interpreter: what a process imports is the point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def python(code: str, tmp_path: Path) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter at the project root; it prints one JSON line last."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CDR_VAR_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def test_the_app_loads_with_celery_and_tasks_bind_to_it(tmp_path: Path) -> None:
    seen = python(
        "import json, os, sys\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'project.settings'\n"
        "import project.settings\n"
        "before = 'celery' in sys.modules or 'project.celery' in sys.modules\n"
        "from celery import current_app, shared_task\n"
        "loaded = 'project.celery' in sys.modules\n"
        "import django; django.setup()\n"
        "from cdr.tasks import calls_expire\n"
        "import project, project.celery\n"
        "app = project.celery.app\n"
        "print(json.dumps({'before': before, 'loaded': loaded, 'current': current_app._get_current_object() is app,"
        " 'bound': calls_expire.app is app and 'cdr.recording_transcode' in app.tasks,"
        " 'celery_app': project.celery_app is app, 'eager': app.conf.task_always_eager}))",
        tmp_path,
    )
    assert seen == {"before": False, "loaded": True, "current": True, "bound": True, "celery_app": True, "eager": True}


def test_a_process_that_imported_celery_first_gets_the_app_with_the_project(tmp_path: Path) -> None:
    seen = python(
        "import json, os, sys\n"
        "import celery\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'project.settings'\n"
        "import project\n"
        "from celery import current_app\n"
        "print(json.dumps({'loaded': 'project.celery' in sys.modules, 'current': current_app.main}))",
        tmp_path,
    )
    assert seen == {"loaded": True, "current": "project"}


def test_cdr_decode_help_sets_nothing_up(tmp_path: Path) -> None:
    seen = python(
        "import json, runpy, sys\n"
        "sys.argv = ['manage.py', 'cdr_decode', '--help']\n"
        "try:\n"
        "    runpy.run_path('manage.py', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "from django.apps import apps\n"
        "top = {m.split('.')[0] for m in sys.modules}\n"
        "print(json.dumps({'code': code, 'apps_ready': apps.ready, 'admin': 'django.contrib.admin' in sys.modules,"
        " 'heavy': sorted(top & {'celery', 'numpy', 'rest_framework'})}))",
        tmp_path,
    )
    assert seen == {"code": 0, "apps_ready": False, "admin": False, "heavy": []}
