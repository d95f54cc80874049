"""The Go client's stand-in for the hooks package matches the package doc name for name, its
go.mod builds against the real module for users, and its signer agrees with cdr.ingest.signing."""

import json
import re
from pathlib import Path

import pytest

from cdr.ingest import signing

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "reference" / "go-hooks-package-doc.txt").read_text()
CLIENT = ROOT / "clients" / "go"
STUB = CLIENT / "hooksstub"
STUB_SRC = (STUB / "protocol" / "sip" / "hooks" / "hooks.go").read_text()


def norm(line: str) -> str:
    return " ".join(line.split("//")[0].split())


def blocks(text: str, kind: str) -> dict[str, list[str]]:
    """`type X <kind> {` ... `}` bodies (comments and blank lines dropped), by type name."""
    found = {}
    for m in re.finditer(rf"^type (\w+) {kind} {{\n(.*?)^}}", text, re.M | re.S):
        found[m.group(1)] = [n for line in m.group(2).splitlines() if (n := norm(line))]
    return found


def types(text: str) -> dict[str, str]:
    return dict(re.findall(r"^type (\w+) (\w+)", text, re.M))


def test_every_type_of_the_doc_and_only_those_with_its_kind():
    assert len(types(DOC)) == 13
    assert types(STUB_SRC) == types(DOC)


@pytest.mark.parametrize("kind", ["struct", "interface"])
def test_fields_and_methods_are_the_docs(kind):
    doc, stub = blocks(DOC, kind), blocks(STUB_SRC, kind)
    assert doc and stub == doc


def const_lines(text: str) -> list[str]:
    lines = []
    for body in re.findall(r"^const \(\n(.*?)^\)", text, re.M | re.S):
        lines += [n for line in body.splitlines() if (n := norm(line))]
    return lines


def test_constants_keep_their_names_types_and_values():
    assert len(const_lines(DOC)) == 9
    assert const_lines(STUB_SRC) == const_lines(DOC)


def test_nop_sinks_have_every_method_with_the_docs_signature():
    doc: dict[tuple[str, str], str] = {}
    for receiver, method, signature in re.findall(r"^func \((\w+)\) (\w+)(\(.*)?$", DOC, re.M):
        doc[receiver, method] = doc.get((receiver, method)) or signature  # a heading, then the signature
    assert len(doc) == 9
    for (receiver, method), signature in doc.items():
        m = re.search(rf"^func \({receiver}\) {method}(\(.*?) {{", STUB_SRC, re.M)
        assert m, f"{receiver}.{method}"
        if signature:  # the doc elides a few long signatures
            assert norm(m.group(1)) == norm(signature), f"{receiver}.{method}"


def test_default_registry_uses_the_nop_sinks():
    pattern = r"^var DefaultRegistry = Registry\{\n\s+Lifecycle: NopLifecycle\{\},\n\s+Recording: NopRecording\{\},\n\}"
    assert re.search(pattern, DOC, re.M) and re.search(pattern, STUB_SRC, re.M)


def test_users_build_against_the_real_module_and_this_repository_against_the_stand_in():
    gomod = (CLIENT / "go.mod").read_text()
    assert re.search(r"^go 1\.19$", gomod, re.M)
    assert re.search(r"^require github\.com/LingByte/lingllm v1\.4\.2$", gomod, re.M)
    assert re.search(r"^replace github\.com/LingByte/lingllm => \./hooksstub$", gomod, re.M)
    assert re.search(r"^module github\.com/LingByte/lingllm$", (STUB / "go.mod").read_text(), re.M)
    imports = {m for p in CLIENT.glob("*.go") for m in re.findall(r'"([\w.]+/[^"]+)"', p.read_text())}
    # Standard library (no dot in the first element) and the hooks package only.
    assert {i for i in imports if "." in i.split("/")[0]} == {"github.com/LingByte/lingllm/protocol/sip/hooks"}


def test_the_go_signer_vectors_are_the_python_signers():
    vectors = json.loads((CLIENT / "testdata" / "signing-vectors.json").read_text())
    assert len(vectors) >= 3
    for v in vectors:
        body = bytes.fromhex(v["body_hex"])
        headers = signing.signed_headers(
            "k", v["secret"], v["method"], v["path"], body, headers=v["headers"], timestamp=v["timestamp"]
        )
        assert headers[signing.SHA256_HEADER] == v["body_sha256"]
        assert headers[signing.SIGNED_HEADERS_HEADER] == v["signed_headers"]
        assert headers[signing.SIGNATURE_HEADER] == v["signature"]
        assert v["signature"].startswith("v2=")
        ts = str(v["timestamp"])
        assert signing.signature_v1(v["secret"], v["method"], v["path"], ts, v["body_sha256"]) == v["signature_v1"]
    # Every kind of signed header is in a vector: the metadata, a value with outer spaces, an unknown X-CDR-*.
    names = {name.lower() for v in vectors for name in v["headers"]}
    assert {"content-type", "x-cdr-tenant-id", "x-cdr-format", "x-cdr-codec", "x-cdr-channels"} <= names
    assert any(value != value.strip() for v in vectors for value in v["headers"].values())
