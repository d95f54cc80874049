"""The shell recipes of docs/ingest.md (moved there from the README), run as written (bash, sha256sum,
openssl, curl) against a live server: a gateway author copying them gets a stored event and a stored recording."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cdr.media import Frame, build_sn3
from cdr.models import Call, Recording, WavStatus
from cdr.services.gateways import IssuedGateway, gateway_create

pytestmark = pytest.mark.django_db(transaction=True)

INGEST_DOC = Path(__file__).resolve().parents[3] / "docs" / "ingest.md"
TOOLS = ("bash", "curl", "openssl", "sha256sum")
STATUS = "\nHTTP "
RECORDING_FILE = "a@gw.sn3"  # the file name the recording recipe posts


def ingest_doc_recipes() -> dict[str, str]:
    """The ```sh blocks of the "Signing a request" section of docs/ingest.md, by the endpoint their curl posts to."""
    section = re.search(r"^## Signing a request.*?(?=^## |\Z)", INGEST_DOC.read_text(), re.S | re.M)
    assert section, "docs/ingest.md: no '## Signing a request' section"
    blocks = re.findall(r"^```sh\n(.*?)^```", section.group(0), re.S | re.M)
    recipes = {}
    for block in blocks:
        endpoint = re.search(r"/ingest/v1/(events|recordings)\b", block)
        assert endpoint, f"docs/ingest.md: a shell block posts to no ingestion endpoint:\n{block}"
        recipes[endpoint.group(1)] = block
    assert sorted(recipes) == ["events", "recordings"], (
        f"docs/ingest.md: expected both recipes, found {sorted(recipes)}"
    )
    return recipes


@pytest.fixture(scope="module")
def recipes() -> dict[str, str]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the docs/ingest.md recipe needs {', '.join(missing)}, not on the PATH")
    return ingest_doc_recipes()


@pytest.fixture
def issued(db) -> IssuedGateway:
    return gateway_create(name="edge-readme", tenant_ids=[7])


@pytest.fixture
def run_recipe(live_server, issued, tmp_path, settings):
    """Run one recipe with bash: (HTTP status, JSON answer).

    Only the environment differs from a gateway author's shell: CDR_URL names the live server, and a
    curlrc (curl reads it from $HOME) adds the status line, so the commands themselves run as written.
    The server refuses signature v1: the recipes must sign v2, their metadata headers included.
    """
    settings.CDR_INGEST = {**settings.CDR_INGEST, "SIGNATURE_V1_UNTIL": "off"}
    home = tmp_path / "home"
    home.mkdir()
    (home / ".curlrc").write_text('write-out = "\\nHTTP %{http_code}\\n"\n')  # STATUS, then the code
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "LC_ALL": "C",
        "CDR_URL": live_server.url,
        "KEY_ID": issued.gateway.key_id,
        "SECRET": issued.secret,
    }

    def run(recipe: str) -> tuple[int, dict]:
        assert "${CDR_URL:-" in recipe, "docs/ingest.md: the recipe's curl should post to ${CDR_URL:-...}"
        done = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + recipe],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, f"the recipe failed ({done.returncode}): {done.stderr}"
        body, _, status = done.stdout.rstrip("\n").rpartition(STATUS)
        assert status.isdigit(), f"no status line in curl's output: {done.stdout!r}"
        return int(status), json.loads(body)

    return run


def test_the_events_recipe_stores_the_call_and_a_repost_is_a_duplicate(recipes, run_recipe):
    status, answer = run_recipe(recipes["events"])
    assert status == 200, answer
    assert (answer["accepted"], answer["duplicate"], answer["rejected"]) == (1, 0, 0)
    assert answer["results"] == [{"index": 0, "event_id": "gw1-42", "status": "accepted"}]
    call = Call.objects.get(call_id="a@gw")
    assert (call.tenant_id, call.status) == (7, "ringing")

    status, again = run_recipe(recipes["events"])
    assert status == 200, again
    assert (again["accepted"], again["duplicate"]) == (0, 1)
    assert again["results"][0]["status"] == "duplicate"
    assert Call.objects.filter(call_id="a@gw").count() == 1


def sn3_recording() -> bytes:
    """Half a second of one leg: 25 PCMU frames of 20 ms."""
    return build_sn3([Frame(0, 100 + i, 160 * i, i * 20_000_000, bytes([0x55 + i]) * 160) for i in range(25)])


def test_the_recording_recipe_stores_the_file_and_a_repost_is_the_same_object(
    recipes,
    run_recipe,
    local_storage,
    sink,
    tmp_path,
):
    blob = sn3_recording()
    (tmp_path / RECORDING_FILE).write_bytes(blob)
    status, answer = run_recipe(recipes["recordings"])
    assert status == 201, answer
    assert (answer["call_id"], answer["bytes"]) == ("a@gw", len(blob))
    assert answer["sha256"] == hashlib.sha256(blob).hexdigest()
    assert local_storage.open(answer["object_key"]).read() == blob
    rec = Recording.objects.get(call_id="a@gw")
    assert (rec.tenant_id, rec.codec, rec.sample_rate, rec.bytes) == (7, "pcmu", 8000, len(blob))
    assert rec.wav_status == WavStatus.READY, rec.wav_error

    status, again = run_recipe(recipes["recordings"])
    assert status == 200, again
    assert again["object_key"] == answer["object_key"]
    assert Recording.objects.count() == 1
