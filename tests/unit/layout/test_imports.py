"""The layering rules of docs/architecture.md, read from the code's own import statements.

Every import counts, including those inside functions: a lazy import still ties two modules.
Reads source only (ast), so a broken rule fails here before anything runs.
"""

from __future__ import annotations

import ast
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
CDR = ROOT / "cdr"

PURE = ("cdr.hooks", "cdr.media", "cdr.lifecycle", "cdr.reports", "cdr.simulator", "cdr.storage.keys")
# Pure code may import these parts of cdr: the other pure packages and the stdlib-only signing.
PURE_MAY_IMPORT = (*PURE, "cdr.ingest.signing")
FRAMEWORKS = ("django", "celery", "kombu", "rest_framework", "drf_spectacular", "storages", "boto3", "botocore")
CORE = (
    "cdr.models",
    "cdr.services",
    "cdr.selectors",
    "cdr.db",
    "cdr.storage",
    "cdr.dispatch",
    "cdr.conf",
    "cdr.fields",
    "cdr.checks",
    "cdr.metrics",
)
SINKS = ("cdr.sinks",)
TASKS = ("cdr.tasks",)
EDGE = ("cdr.ingest",)  # the HTTP ingestion edge; cdr.ingest.signing is wire code (pure)
INTERFACES = ("cdr.admin", "cdr.api", "cdr.views", "cdr.urls", "cdr.management")


def _module(path: pathlib.Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _sources() -> dict[str, pathlib.Path]:
    return {_module(p): p for p in sorted(CDR.rglob("*.py")) if "migrations" not in p.parts}


MODULES = _sources()


def _imports(path: pathlib.Path) -> set[str]:
    """Every module named by an import in ``path``, resolved to the longest known cdr module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if not name.startswith("cdr"):
                found.add(name)
                continue
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


GRAPH = {m: _imports(p) for m, p in MODULES.items()}


def _in(module: str, parts: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in parts)


def _broken(sources: tuple[str, ...], targets: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[str]:
    return sorted(
        f"{m} -> {t}"
        for m, deps in GRAPH.items()
        if _in(m, sources) and not _in(m, allowed)
        for t in deps
        if _in(t, targets) and not _in(t, allowed) and not (m == t or m.startswith(t + "."))
    )


def test_the_rules_see_the_modules_they_name():
    for part in (*PURE, *CORE, *SINKS, *TASKS, *EDGE, *INTERFACES):
        assert any(_in(m, (part,)) for m in MODULES), f"{part} names no module: the rule would hold vacuously"


def test_pure_packages_import_no_framework():
    broken = sorted(
        f"{m} -> {t}" for m, deps in GRAPH.items() if _in(m, PURE) for t in deps if t.split(".")[0] in FRAMEWORKS
    )
    assert broken == []


def test_pure_packages_import_only_pure_parts_of_cdr():
    broken = sorted(
        f"{m} -> {t}"
        for m, deps in GRAPH.items()
        if _in(m, PURE)
        for t in deps
        if t.startswith("cdr") and t != "cdr" and not _in(t, PURE_MAY_IMPORT)
    )
    assert broken == []


@pytest.mark.parametrize(
    ("targets", "why"),
    [
        (SINKS, "the core knows no sink"),
        (TASKS, "the core enqueues by task name through cdr.dispatch"),
        (EDGE, "the core knows no HTTP"),
        (INTERFACES, "the core has no UI"),
    ],
)
def test_the_core_imports_no_outer_layer(targets, why):
    assert _broken(CORE, targets, allowed=("cdr.ingest.signing",)) == [], why


@pytest.mark.parametrize(
    ("targets", "why"),
    [
        (TASKS, "sinks publish by task name"),
        (EDGE + INTERFACES, "sinks have no UI"),
    ],
)
def test_sinks_import_no_task_or_interface(targets, why):
    assert _broken(SINKS, targets, allowed=("cdr.ingest.signing",)) == [], why


def test_admin_and_commands_call_the_core_not_the_api_or_the_edge():
    sources = ("cdr.admin", "cdr.management")
    assert _broken(sources, ("cdr.api", *EDGE), allowed=("cdr.ingest.signing",)) == []


def test_the_api_and_the_edge_are_siblings():
    assert _broken(("cdr.api",), EDGE, allowed=("cdr.ingest.signing",)) == []
    assert _broken(EDGE, ("cdr.api", "cdr.admin", "cdr.views", "cdr.management", *TASKS)) == []


def test_tasks_import_no_interface():
    assert _broken(TASKS, (*SINKS, *EDGE, *INTERFACES)) == []


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), a package and its own
    modules not counted as a tie."""
    edges = {m: {t for t in deps if t in MODULES and not m.startswith(t + ".")} for m, deps in GRAPH.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(edges)))
    try:
        for v in sorted(edges):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return out


def test_no_import_cycle_anywhere_in_cdr():
    assert _cycles() == []


CELERY_CALLS = {"delay", "apply_async", "send_task", "delay_on_commit", "apply_async_on_commit"}


def test_only_dispatch_hands_work_to_celery():
    """Task objects are never called to queue work outside cdr.dispatch (the tasks themselves
    and cdr.dispatch excepted): everything else names the task there."""
    broken = []
    for module, path in MODULES.items():
        if module == "cdr.dispatch":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CELERY_CALLS:
                broken.append(f"{module}:{node.lineno} .{node.func.attr}()")
    assert broken == []


def test_only_dispatch_and_the_tasks_import_celery():
    """Celery stays behind cdr.dispatch (and the task modules, which are Celery's by nature):
    services name what they need from it there (``dispatch.TaskTimeLimit``)."""
    broken = sorted(
        f"{m} -> {t}"
        for m, deps in GRAPH.items()
        if not _in(m, (*TASKS, "cdr.dispatch"))
        for t in deps
        if _in(t, ("celery", "kombu"))
    )
    assert broken == []


def test_the_checker_sees_a_broken_rule():
    """The rules above are not vacuous: a cycle and an upward import planted in a copy are found."""
    saved = {k: set(v) for k, v in GRAPH.items()}
    try:
        GRAPH["cdr.services.events"].add("cdr.tasks.events")
        assert _broken(CORE, TASKS) == ["cdr.services.events -> cdr.tasks.events"]
        assert any("cdr.services.events" in c for c in _cycles())
    finally:
        GRAPH.clear()
        GRAPH.update(saved)
