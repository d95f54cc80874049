"""Start-up pays only for what a process uses: ``manage.py cdr_decode`` sets nothing up (no app
registry, no Celery, no numpy for --help).

Each case runs in a fresh interpreter: what a process imports is the point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def python(code: str, tmp_path: Path) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter at the project root; it prints one JSON line last."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CDR_VAR_DIR": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])  # type: ignore[no-any-return]


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
