"""Reading the environment for settings.py: typed, and failing at start-up with the variable's name."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_required(name: str, why: str) -> str:
    value = env(name)
    if value is None:
        raise ImproperlyConfigured(f"{name} must be set ({why}).")
    return value


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None:
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}.")


def _number(name: str, kind: Callable[[str], Any], what: str, default: Any) -> Any:
    value = env(name)
    if value is None:
        return default
    try:
        return kind(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be {what}, got {value!r}.") from None


def env_int(name: str, default: int) -> int:
    return int(_number(name, int, "an integer", default))


def env_float(name: str, default: float) -> float:
    return float(_number(name, float, "a number", default))


def env_given(variables: Mapping[str, tuple[str, type]]) -> dict[str, Any]:
    """``{key: value}`` for each ``key: (VARIABLE, int|float|str)`` whose variable is set.

    For the app's dict settings: a key whose variable is unset keeps cdr's default (``cdr.conf``),
    so no default is written twice.
    """
    out: dict[str, Any] = {}
    for key, (name, kind) in variables.items():
        if env(name) is None:
            continue
        if kind is int:
            out[key] = env_int(name, 0)
        elif kind is float:
            out[key] = env_float(name, 0.0)
        else:
            out[key] = env(name)
    return out
