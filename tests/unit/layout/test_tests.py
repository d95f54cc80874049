"""The tests' own layout, read from the files and their import statements (ast, nothing imported).

- No module imports a conftest or a test module: fixtures reach tests through pytest, shared
  helpers live in ``tests/support/``.
- A helper module outside ``tests/support/`` (``tests/unit/media/helpers.py``) serves its own folder only.
- Every folder of ``tests/`` is a package (``__init__.py``), so every module has one importable name.
- A unit or integration test module lives in the folder of what it tests (``tests/unit/<package>/``,
  ``tests/integration/<package>/``), never loose in ``tests/unit/`` or ``tests/integration/``.
"""

from __future__ import annotations

import ast
import pathlib

TESTS = pathlib.Path(__file__).resolve().parents[2]
SUPPORT = TESTS / "support"
SOURCES = sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def _rel(path: pathlib.Path) -> str:
    return str(path.relative_to(TESTS.parent))


def _is_test_module(name: str) -> bool:
    return name == "conftest" or name.startswith("test_")


def _imported(path: pathlib.Path) -> list[tuple[int, list[str]]]:
    """(line, dotted name as parts) of every module or name an import in ``path`` names, relative
    imports resolved against the file's package; only names inside ``tests`` are kept."""
    package = list(path.relative_to(TESTS.parent).parent.parts)
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = base + (node.module.split(".") if node.module else [])
            found.append((node.lineno, module))
            # `from tests.x import test_y` and `from . import conftest` name modules too.
            found += [(node.lineno, [*module, alias.name]) for alias in node.names]
    return [(line, parts) for line, parts in found if parts[:1] == ["tests"]]


def _module_file(parts: list[str]) -> pathlib.Path | None:
    """The file under tests/ that a dotted name is, if it is a module (not a package or a name in one)."""
    path = TESTS.parent.joinpath(*parts).with_suffix(".py")
    return path if path.is_file() else None


def test_the_sources_and_their_imports_are_read():
    assert pathlib.Path(__file__).resolve() in SOURCES and SUPPORT / "factories.py" in SOURCES
    assert any(parts == ["tests", "support", "factories"] for p in SOURCES for _, parts in _imported(p))
    # A relative import resolves against the file's package.
    media = TESTS / "unit" / "media" / "test_codecs.py"
    assert ["tests", "unit", "media", "helpers"] in [parts for _, parts in _imported(media)]


def test_no_module_imports_a_conftest_or_a_test_module():
    bad = [
        f"{_rel(p)}:{line}: {'.'.join(parts)}"
        for p in SOURCES
        for line, parts in _imported(p)
        if _is_test_module(parts[-1])
    ]
    assert not bad, "import helpers from tests/support/, not from a conftest or a test module:\n" + "\n".join(bad)


def test_a_helper_outside_tests_support_serves_its_own_folder_only():
    bad = []
    for path in SOURCES:
        for line, parts in _imported(path):
            target = _module_file(parts)
            if (
                target is None
                or _is_test_module(target.stem)
                or SUPPORT in target.parents
                or target.parent == path.parent
            ):
                continue
            bad.append(f"{_rel(path)}:{line}: {'.'.join(parts)}")
    assert not bad, "a helper used by more than one folder belongs in tests/support/:\n" + "\n".join(bad)


def test_every_test_folder_is_a_package():
    folders = {p.parent for p in SOURCES}
    missing = sorted(_rel(f) for f in folders if not (f / "__init__.py").is_file())
    assert not missing, f"add an __init__.py (pytest runs with --import-mode=importlib): {missing}"


def test_no_test_module_is_loose_in_unit_or_integration():
    roots = {TESTS, TESTS / "unit", TESTS / "integration"}
    loose = sorted(_rel(p) for p in SOURCES if p.parent in roots and _is_test_module(p.stem) and p.stem != "conftest")
    assert not loose, f"put these in the folder of the package they test: {loose}"
