"""cdr is a reusable app: `pip install` gives the app with its migrations, templates and static."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SKIP = shutil.ignore_patterns(".venv", "var", ".git", "build", "*.egg-info", "test-artifacts", "__pycache__")


def test_the_wheel_carries_the_app_and_not_the_project(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=SKIP)  # build in a copy: setuptools writes build/ beside the source
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), "."]
    subprocess.run(cmd, cwd=src, check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("cdr-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "cdr/migrations/0001_initial.py" in names
    assert "cdr/hooks/__init__.py" in names and "cdr/media/__init__.py" in names
    assert any(n.startswith("cdr/templates/admin/cdr/") for n in names)
    assert any(n.startswith("cdr/static/cdr/") for n in names)
    assert not any(n.startswith(("project/", "tests/", "bench/")) for n in names)
