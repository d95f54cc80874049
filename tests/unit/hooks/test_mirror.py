"""Every name of the Go hooks package doc has a Python twin in cdr.hooks."""

import dataclasses
import re
import typing
from pathlib import Path

import pytest

from cdr import hooks

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "reference" / "go-hooks-package-doc.txt"
SHARED_DOC = ROOT.parent / "shared" / "reference" / "go-hooks-package-doc.txt"
ENUM_PREFIX = {
    "Direction": "Direction",
    "HangupInitiator": "Hangup",
    "RecordingFormat": "Format",
    "RecordingChannel": "Channel",
}


def snake(name: str) -> str:
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z\d])([A-Z])", r"\1_\2", name).lower()


def blocks(text: str, kind: str) -> dict[str, list[str]]:
    """`type X <kind> {` ... `}` bodies, by type name."""
    found = {}
    for m in re.finditer(rf"^type (\w+) {kind} {{\n(.*?)^}}", text, re.M | re.S):
        found[m.group(1)] = [line for line in m.group(2).splitlines() if line.strip()]
    return found


TEXT = DOC.read_text()


def test_the_vendored_doc_is_the_shared_one():
    if not SHARED_DOC.exists():
        pytest.skip("shared/ is not beside this checkout")
    assert DOC.read_text() == SHARED_DOC.read_text(), "the Go package doc changed: update the mirror"


def test_every_go_type_has_a_python_twin():
    names = set(re.findall(r"^type (\w+) ", TEXT, re.M))
    assert len(names) == 13
    assert sorted(n for n in names if not hasattr(hooks, n)) == []


@pytest.mark.parametrize("go_type, fields", sorted(blocks(TEXT, "struct").items()))
def test_struct_fields_are_mirrored(go_type, fields):
    py_fields = {f.name for f in dataclasses.fields(getattr(hooks, go_type))}
    go_fields = [snake(line.split()[0]) for line in fields]
    assert sorted(set(go_fields) - py_fields) == []
    cls = getattr(hooks, go_type)
    if go_type != "Registry":
        assert cls.__dataclass_params__.frozen, f"{go_type} must be frozen"
        with pytest.raises(TypeError):
            cls("positional")  # keyword-only


@pytest.mark.parametrize("go_type, methods", sorted(blocks(TEXT, "interface").items()))
def test_interface_methods_are_mirrored(go_type, methods):
    protocol = getattr(hooks, go_type)
    assert typing.Protocol in protocol.__mro__
    go_methods = [snake(m.group(1)) for line in methods if (m := re.match(r"\s+([A-Z]\w*)\(", line))]
    assert go_methods and all(callable(getattr(protocol, m, None)) for m in go_methods)


def test_nop_sinks_implement_every_go_method():
    for receiver, method in re.findall(r"^func \((\w+)\) (\w+)", TEXT, re.M):
        assert callable(getattr(getattr(hooks, receiver), snake(method)))
    assert isinstance(hooks.NopLifecycle(), hooks.LifecycleSink)
    assert isinstance(hooks.NopRecording(), hooks.RecordingSink)


def test_constants_keep_their_go_values():
    consts = re.findall(r"^\s+(\w+)\s+(\w+)\s+=\s+(\S+)", TEXT, re.M)
    consts += [(name, "RecordingChannel", "iota") for name in re.findall(r"^\s+(Channel\w+)$", TEXT, re.M)]
    assert len(consts) == 9
    channel = 0
    for name, go_type, value in consts:
        enum = getattr(hooks, go_type)
        member = enum[snake(name.removeprefix(ENUM_PREFIX[go_type])).upper()]
        if go_type == "RecordingChannel":
            assert member.value == channel
            channel += 1
        else:
            assert member.value == value.strip('"')


def test_default_registry_uses_nop_sinks():
    assert re.search(r"^var DefaultRegistry = Registry", TEXT, re.M)
    assert isinstance(hooks.DEFAULT_REGISTRY.lifecycle, hooks.NopLifecycle)
    assert isinstance(hooks.DEFAULT_REGISTRY.recording, hooks.NopRecording)


def test_hooks_import_nothing_from_django():
    for path in (ROOT / "cdr" / "hooks").glob("*.py"):
        assert "django" not in path.read_text(), path
