"""The Django project: settings, URLs, WSGI, and the Celery app (``project.celery.app``).

Celery's Django guide imports the app here, so that it is the current app, the one
``@shared_task`` tasks bind to, before any task is used. Importing Celery costs about as much as
the rest of a management command's start, so the app is loaded when the process first imports
the ``celery`` package instead (whatever imports it: a task module, the app's sinks, a worker),
or at once if Celery is already imported. A process that never touches Celery never pays for it;
one that does gets the app before it can use a task.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable, Sequence
from importlib import import_module
from types import ModuleType
from typing import Any

__all__ = ["celery_app"]

_APP_MODULE = "project.celery"


class _LoadAppWithCelery(importlib.abc.MetaPathFinder):
    """Finds nothing itself: it wraps the loader the other finders give the ``celery`` package so
    that the app is imported right after the package has run."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "celery":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader.exec_module = self._exec_then_load_app(spec.loader.exec_module)  # type: ignore[method-assign]
                return spec
        return None

    def _exec_then_load_app(self, exec_module: Callable[[ModuleType], None]) -> Callable[[ModuleType], None]:
        def exec_then_load_app(module: ModuleType) -> None:
            exec_module(module)
            import_module(_APP_MODULE)  # if it fails, so does this import of celery, and the next one retries
            if self in sys.meta_path:
                sys.meta_path.remove(self)

        return exec_then_load_app


def __getattr__(name: str) -> Any:
    if name == "celery_app":
        return import_module(_APP_MODULE).app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if "celery" in sys.modules:
    import_module(_APP_MODULE)
else:
    sys.meta_path.insert(0, _LoadAppWithCelery())
