"""The package's public names load on first use: importing cdr.media (or its command line) does
not import numpy, and every name in ``__all__`` is the one its module defines."""

from __future__ import annotations

import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest

import cdr.media

ROOT = Path(__file__).resolve().parents[3]


def test_every_public_name_is_its_modules() -> None:
    assert sorted(cdr.media.__all__) == sorted(cdr.media._MODULES)
    for name in cdr.media.__all__:
        module = import_module(f"cdr.media.{cdr.media._MODULES[name]}")
        assert getattr(cdr.media, name) is getattr(module, name)
        assert name in dir(cdr.media)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match=r"module 'cdr\.media' has no attribute 'nope'"):
        cdr.media.nope  # type: ignore[attr-defined]  # noqa: B018


def test_importing_the_package_and_its_command_line_loads_no_numpy() -> None:
    code = "import sys, cdr.media, cdr.media.cli, cdr.media.codecs; print('numpy' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout) == (0, "False\n"), proc.stderr
