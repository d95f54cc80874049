"""Reading the Dockerfile without Docker: its instructions, and the environment its image runs with."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per Dockerfile instruction, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def image_env(text: str, base: dict[str, str]) -> dict[str, str]:
    """The final stage's ``ENV`` (``KEY=value`` forms), ``$VAR`` expanded against ``base`` and itself."""
    env: dict[str, str] = {}
    for word, args in instructions(text):
        if word == "FROM":
            env = {}
        elif word == "ENV":
            for pair in shlex.split(args):
                key, sep, value = pair.partition("=")
                if not sep:
                    raise ValueError(f"ENV {args!r}: only the KEY=value form is read here")
                known = {**base, **env}
                env[key] = re.sub(r"\$\{?(\w+)\}?", lambda m, known=known: known.get(m.group(1), ""), value)
    return env
