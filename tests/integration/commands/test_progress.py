"""Long commands draw a progress bar on a terminal and stay quiet on a pipe.

The commands run as an operator runs them: ``manage.py`` in a process of its own, its stderr a real
pseudo-terminal (pty) or a pipe, on a SQLite database of its own.
"""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import tempfile
import termios
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    var = tmp_path_factory.mktemp("progress")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{var / 'db.sqlite3'}", "CDR_VAR_DIR": str(var), "COLUMNS": "100"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    return env


def _on_a_terminal(env, *args):
    """Run manage.py with stderr on a pty; return (exit code, stdout, what the terminal showed)."""
    leader, follower = pty.openpty()
    out_file = tempfile.TemporaryFile()  # not a pipe: nobody reads it while the terminal is read
    # A terminal of 100 columns, as a real one has a size (a new pty has 0 x 0).
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    proc = subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env, stdout=out_file, stderr=follower)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the process closed its end
            break
        if not chunk:
            break
        shown += chunk
    proc.wait(timeout=120)
    os.close(leader)
    out_file.seek(0)
    return proc.returncode, out_file.read().decode(), shown.decode(errors="replace")


def test_cdr_seed_draws_a_bar_on_a_terminal_and_is_quiet_on_a_pipe(env):
    code, out, shown = _on_a_terminal(env, "cdr_seed", "--calls", "3000", "--tenants", "2", "--days", "1")
    assert code == 0 and "seeded 3,000 calls" in out
    assert "100%" in shown and "3000/3000" in shown and "calls" in shown, shown
    piped = subprocess.run(
        [sys.executable, "manage.py", "cdr_seed", "--calls", "500", "--tenants", "2", "--seed", "2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert piped.stderr == "" and "seeded 500 calls" in piped.stdout
    # A log-friendly trace on a pipe at --verbosity 2: a line a tenth.
    traced = subprocess.run(
        [sys.executable, "manage.py", "cdr_seed", "--calls", "1000", "--tenants", "2", "--seed", "3", "-v2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "1,000 calls" in traced.stderr and "\r" not in traced.stderr


def test_cdr_reports_rebuild_counts_its_steps_on_a_terminal(env):
    code, out, shown = _on_a_terminal(env, "cdr_reports_rebuild")
    assert code == 0 and "rebuilt report rollups from" in out
    # One step for the rollups, then one per tenant's peaks (the seed above wrote tenants 1 and 2).
    assert "3/3" in shown and "steps" in shown, shown
    piped = subprocess.run(
        [sys.executable, "manage.py", "cdr_reports_rebuild"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert piped.returncode == 0 and piped.stderr == ""


def test_cdr_export_to_a_file_draws_a_bar_counting_the_calls(env):
    code, out, shown = _on_a_terminal(env, "cdr_export", "--format", "csv")
    rows = len(out.splitlines()) - 1  # the header
    assert code == 0 and rows >= 3000
    assert f"{rows}/{rows}" in shown and "calls" in shown, shown
    piped = subprocess.run(
        [sys.executable, "manage.py", "cdr_export", "--format", "csv"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert piped.returncode == 0 and piped.stderr == "" and piped.stdout == out
