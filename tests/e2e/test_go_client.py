"""The Go client (clients/go) end to end: a Go program fires real call shapes through it against
a live server (gunicorn on a free port, the test database, the embedded task runner), and every
record and the recording come out right through the REST API."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
import wave
from datetime import datetime, timedelta
from urllib.parse import quote

import numpy as np
import pytest

from cdr.media import Frame, build_sn3, decode_to_wav, encode_ulaw
from cdr.services.api_tokens import api_token_create
from cdr.services.gateways import gateway_create
from tests.support.processes import ROOT, free_port, wait_port
from tests.support.tenants import staff_user

pytestmark = pytest.mark.e2e

# Fractional digits of the times the client sends: 9, Go's RFC3339Nano, which the server takes
# since issue 14's contract fixes (truncated to µs in the store).
WIRE_TIME_DIGITS = 9
BIG_TENANT = 2**64 - 2
GO = shutil.which("go") or "/usr/lib/go-1.19/bin/go"
CALL_IDS = (
    "go-answered@gw",
    "go-rejected/486 %41@gw",
    "go-cancelled@gw",
    "go-xfer@gw",
    "go-agent-1@gw",
    "go-agent-2@gw",
)


def stored(go_time: str) -> str:
    """A time as the driver gave it (RFC 3339, 9 digits) as the API gives it back (microseconds)."""
    assert re.fullmatch(r".*\.\d{6}789Z", go_time), go_time
    return go_time[:-4] + "Z"


def ms_between(a: str, b: str) -> int:
    parse = lambda t: datetime.fromisoformat(stored(t).replace("Z", "+00:00"))  # noqa: E731
    return (parse(b) - parse(a)) // timedelta(milliseconds=1)


def tap_tones() -> tuple[bytes, bytes]:
    """The bridge's live taps: 1.5 s of a caller tone, 1 s of an agent tone, mono PCM16 LE at 8 kHz."""
    tone = lambda hz, s: (8000 * np.sin(2 * np.pi * hz * np.arange(int(8000 * s)) / 8000)).astype("<i2")  # noqa: E731
    return tone(440.0, 1.5).tobytes(), tone(660.0, 1.0).tobytes()


def sn3_blob() -> bytes:
    """Two seconds of a caller tone, then an agent tone: a G.711 µ-law SN3 blob."""
    t = np.arange(100 * 160) / 8000.0
    frames = []
    for leg, hz in ((0, 320.0), (1, 540.0)):
        pcm = encode_ulaw((6000 * np.sin(2 * np.pi * hz * t)).astype(np.int16))
        for i in range(100):
            wall = (leg * 2000 + i * 20) * 1_000_000
            frames.append(Frame(leg, 1000 + i, 160 * i, wall, pcm[i * 160 : (i + 1) * 160]))
    return build_sn3(frames)


@pytest.fixture
def server(transactional_db, settings, tmp_path):
    db = settings.DATABASES["default"]
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,  # gateway secrets are encrypted with a key from it
        "CDR_VAR_DIR": str(tmp_path / "var"),
        # Signature v1 refused: the client must sign v2 (its metadata headers included).
        "CDR_INGEST_SIGNATURE_V1_UNTIL": "off",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "project.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--timeout", "60", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "gunicorn.log", "wb"),
    )  # fmt: skip
    try:
        wait_port(port, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    if not os.path.exists(GO):
        pytest.skip("no Go toolchain (apt-get install golang-go)")
    exe = tmp_path_factory.mktemp("go") / "cdr-callshapes"
    env = {**os.environ, "GOPROXY": "off", "GOFLAGS": "-mod=readonly"}
    subprocess.run(
        [GO, "build", "-o", str(exe), "./cmd/cdr-callshapes"], cwd=ROOT / "clients" / "go", env=env, check=True
    )
    return exe


def api_get(url: str, token: str) -> bytes:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


def test_call_shapes_fired_through_the_go_client_become_their_records(server, driver, tmp_path):
    issued = gateway_create(name="go-gw", tenant_ids=[7, BIG_TENANT])
    blob = sn3_blob()
    (tmp_path / "call.sn3").write_bytes(blob)
    caller, agent = tap_tones()
    (tmp_path / "caller.pcm").write_bytes(caller)
    (tmp_path / "agent.pcm").write_bytes(agent)
    run = subprocess.run(
        [str(driver)],
        env={
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            "CDR_URL": server,
            "CDR_KEY_ID": issued.gateway.key_id,
            "CDR_SECRET": issued.secret,
            "CDR_DIR": str(tmp_path / "client"),
            "CDR_SN3": str(tmp_path / "call.sn3"),
            "CDR_TAPS_CALLER": str(tmp_path / "caller.pcm"),
            "CDR_TAPS_AGENT": str(tmp_path / "agent.pcm"),
            "CDR_TAP_GAP": "1h",  # every tap follows on, however loaded the machine
            "CDR_TIME_DIGITS": str(WIRE_TIME_DIGITS),
            "CDR_BIG_TENANT": str(BIG_TENANT),
        },
        capture_output=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr.decode()
    out = json.loads(run.stdout)
    times, stats = out["times"], out["stats"]
    assert out["close_error"] == "" and out["recording"]["error"] == "" and out["taps"]["error"] == "", out
    assert (stats["Rejected"], stats["Refused"], stats["Dropped"], stats["OutboxBatches"]) == (0, 0, 0, 0), stats
    assert stats["Accepted"] == stats["Posted"] == 17 and stats["RecordingsUploaded"] == 2
    assert (stats["TapsDropped"], stats["TapBytes"]) == (0, len(caller) + len(agent)), stats
    assert out["recording"]["bytes"] == len(blob) and out["recording"]["object_key"]
    # Both directions, interleaved: caller left, agent right, the agent's end padded with silence.
    stereo = np.zeros((len(caller) // 2, 2), dtype="<i2")
    stereo[:, 0] = np.frombuffer(caller, dtype="<i2")
    stereo[: len(agent) // 2, 1] = np.frombuffer(agent, dtype="<i2")
    assert out["taps"]["bytes"] == stereo.nbytes and out["taps"]["object_key"]

    token = api_token_create(user=staff_user("go-e2e", 7, BIG_TENANT), name="e2e").key  # tenants exist now
    calls = {c: json.loads(api_get(f"{server}/api/v1/calls/{quote(c, safe='')}/", token)) for c in CALL_IDS}
    for call in calls.values():
        assert {e["status"] for e in call["events"]} == {"accepted"}, call["events"]

    def check(call_id, *, name, status, tenant, initiator, sip_code, reason, established, events):
        call = calls[call_id]
        got = {k: call[k] for k in ("call_id", "tenant_id", "status", "hangup_initiator", "sip_code", "hangup_reason")}
        assert got == {
            "call_id": call_id, "tenant_id": tenant, "status": status,
            "hangup_initiator": initiator, "sip_code": sip_code, "hangup_reason": reason,
        }  # fmt: skip
        assert call["started_at"] == stored(times[f"{name}.started"])
        assert call["ended_at"] == stored(times[f"{name}.ended"])
        assert call["duration_ms"] == ms_between(times[f"{name}.started"], times[f"{name}.ended"])
        if established:  # when the hook fired: after the stamp taken just before it
            assert stored(times[f"{name}.before_established"]) <= call["established_at"] <= call["ended_at"]
        else:
            assert call["established_at"] is None
        assert [e["type"] for e in call["events"]] == events

    check("go-answered@gw", name="answered", status="completed", tenant=7, initiator="remote", sip_code=200,
          reason="Normal Clearing", established=True, events=["ringing", "established", "bye"])  # fmt: skip
    check("go-rejected/486 %41@gw", name="rejected", status="failed", tenant=7, initiator="local", sip_code=486,
          reason="Busy Here", established=False, events=["ringing", "failed"])  # fmt: skip
    check("go-cancelled@gw", name="cancelled", status="failed", tenant=7, initiator="remote", sip_code=487,
          reason="Request Terminated", established=False, events=["ringing", "failed"])  # fmt: skip
    # The crossing BYEs: the first (the session timer's) decides; the second changes nothing.
    check("go-xfer@gw", name="xfer", status="completed", tenant=BIG_TENANT, initiator="local", sip_code=None,
          reason="session timer", established=True,
          events=["ringing", "established", *["transfer_started"] * 2, "bridge_started", "bye", "bye"])  # fmt: skip
    # Agent legs sent with tenant 0 take the inbound call's through their CorrelationID.
    check("go-agent-1@gw", name="agent1", status="failed", tenant=BIG_TENANT, initiator="remote", sip_code=480,
          reason="Temporarily Unavailable", established=False, events=["failed"])  # fmt: skip
    check("go-agent-2@gw", name="agent2", status="completed", tenant=BIG_TENANT, initiator="remote", sip_code=200,
          reason="Normal Clearing", established=True, events=["established", "bye"])  # fmt: skip
    # SetLabels before the first hook, and again after it: merged over the call's events.
    assert calls["go-answered@gw"]["labels"] == {
        "campaign": "spring", "did": "+33184000007", "from": "+33612345678", "to": "+33184000007"
    }  # fmt: skip
    assert all(c["labels"] == {} for cid, c in calls.items() if cid != "go-answered@gw")
    xfer = calls["go-xfer@gw"]
    assert xfer["transferred"] and [
        (t["attempt"], t["target"], t["outbound_call_id"], t["outcome"]) for t in xfer["transfers"]
    ] == [(1, "sip:agent-1@pbx", "go-agent-1@gw", "failed"), (2, "sip:agent-2@pbx", "go-agent-2@gw", "bridged")]
    assert calls["go-agent-2@gw"]["correlation_id"] == "go-xfer@gw"

    # The recording: stored once, linked to its call, and its WAV is the one the media code makes.
    answered = calls["go-answered@gw"]
    recordings = [(r["format"], r["codec"], r["bytes"], r["wav_status"]) for r in answered["recordings"]]
    assert answered["has_recording"] and recordings == [("sn3", "pcmu", len(blob), "ready")]
    assert not any(c["has_recording"] for c in calls.values() if c is not answered and c is not calls["go-xfer@gw"])
    media = answered["recordings"][0]["media"]  # an absolute URL
    assert media.startswith(f"{server}/api/v1/recordings/")
    assert api_get(f"{media}?variant=original", token) == blob
    want = io.BytesIO()
    decode_to_wav(blob, "pcmu", want)
    assert api_get(f"{media}?variant=wav", token) == want.getvalue()

    # The bridge's live PCM taps: one stereo_pcm recording, whose WAV plays both directions.
    xfer = calls["go-xfer@gw"]
    assert xfer["has_recording"] and [
        (r["format"], r["bytes"], r["wav_status"], r["duration_ms"]) for r in xfer["recordings"]
    ] == [("stereo_pcm", stereo.nbytes, "ready", 1500)]
    media = xfer["recordings"][0]["media"]
    assert api_get(f"{media}?variant=original", token) == stereo.tobytes()
    with wave.open(io.BytesIO(api_get(f"{media}?variant=wav", token))) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 8000)
        assert wav.readframes(wav.getnframes()) == stereo.tobytes()
