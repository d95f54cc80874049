"""Signature v2 (issue 16, item 6): the headers the server acts on are signed, so a captured upload
cannot be replayed with other metadata; v1 is accepted, logged and counted only within the
deprecation window (CDR_INGEST_SIGNATURE_V1_UNTIL), then refused with a reason."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from cdr.ingest.deprecated import signature_v1 as v1_signal
from cdr.ingest.deprecated import signature_v1_log_reset
from cdr.ingest.signing import (
    KEY_HEADER,
    SHA256_HEADER,
    SIGNATURE_HEADER,
    SIGNED_HEADERS_HEADER,
    TIMESTAMP_HEADER,
    signature_v1,
    signed_headers,
)
from cdr.models import CallEvent, Recording
from tests.support.factories import call, event

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/ingest/v1/recordings/replayed@gw"
BLOB = b"SN3-ish bytes of one recording"
OCTETS = "application/octet-stream"
METADATA = {
    "Content-Type": OCTETS,
    "X-CDR-Tenant-Id": "7",
    "X-CDR-Format": "sn3",
    "X-CDR-Codec": "pcmu",
    "X-CDR-Sample-Rate": "8000",
    "X-CDR-Channels": "1",
}
EVENTS = "/ingest/v1/events"
BATCH = json.dumps([dict(event("ringing", 0, call("v1@gw")), event_id="v1-1")]).encode()


@pytest.fixture(autouse=True)
def _fresh_v1_log():
    signature_v1_log_reset()
    yield
    signature_v1_log_reset()


@pytest.fixture
def v1_uses():
    """What the counter hook is told: (gateway, refused) per authentic v1 request."""
    seen: list[tuple[str, bool]] = []

    def receiver(sender, *, gateway, refused, **kwargs):
        seen.append((gateway, refused))

    v1_signal.connect(receiver, dispatch_uid="test-v1-uses")
    yield seen
    v1_signal.disconnect(dispatch_uid="test-v1-uses")


def send(gw, headers, *, path=PATH, body=BLOB):
    content_type = headers.get("Content-Type", "")
    return gw.client.generic("POST", path, body, content_type=content_type, headers=headers, CONTENT_TYPE=content_type)


def capture(gw, **changed):
    """A signed upload as a gateway sent it (an eavesdropper's copy)."""
    return signed_headers(gw.key_id, gw.secret, "POST", PATH, BLOB, headers={**METADATA, **changed})


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-CDR-Tenant-Id", "9"),  # another tenant of the same gateway
        ("X-CDR-Format", "stereo_pcm"),
        ("X-CDR-Codec", "opus"),
        ("X-CDR-Sample-Rate", "48000"),
        ("X-CDR-Channels", "2"),
    ],
)
def test_a_captured_upload_replayed_with_other_metadata_is_401(local_storage, sink, gw, header, value):
    captured = capture(gw)
    replayed = send(gw, {**captured, header: value})
    assert replayed.status_code == 401, replayed.content
    assert replayed.json() == {
        "detail": "X-CDR-Signature: does not match (v2: method, path, timestamp, signed headers, body SHA-256)"
    }
    assert not Recording.objects.exists()
    # The capture itself was good: as sent, it is stored with its own metadata.
    original = send(gw, captured)
    assert original.status_code == 201, original.content
    rec = Recording.objects.get()
    assert (rec.tenant_id, rec.format, rec.codec, rec.sample_rate, rec.channels) == (7, "sn3", "pcmu", 8000, 1)


def test_a_replay_that_drops_a_signed_header_or_its_name_from_the_list_is_401(local_storage, sink, gw):
    captured = capture(gw)
    dropped = {k: v for k, v in captured.items() if k != "X-CDR-Codec"}
    assert send(gw, dropped).json() == {"detail": "X-CDR-Signed-Headers: lists x-cdr-codec, not sent"}
    listed = captured[SIGNED_HEADERS_HEADER].replace("x-cdr-codec;", "")
    both = send(gw, {**dropped, SIGNED_HEADERS_HEADER: listed})
    assert (both.status_code, both.json()["detail"]) == (
        401,
        "X-CDR-Signature: does not match (v2: method, path, timestamp, signed headers, body SHA-256)",
    )
    assert not Recording.objects.exists()


@pytest.mark.parametrize("header", ["X-CDR-Tenant-Id", "X-CDR-Codec", "X-CDR-Channels", "X-CDR-Some-Future-Header"])
def test_an_acted_on_header_sent_unsigned_is_401(local_storage, sink, gw, header):
    unsigned = {k: v for k, v in METADATA.items() if k != header}
    headers = signed_headers(gw.key_id, gw.secret, "POST", PATH, BLOB, headers=unsigned)
    response = send(gw, {**headers, header: METADATA.get(header, "1")})
    assert response.status_code == 401
    assert response.json() == {
        "detail": f"X-CDR-Signed-Headers: {header.lower()} sent but not signed "
        "(Content-Type and every X-CDR-* header must be)"
    }
    assert not Recording.objects.exists()


def test_an_events_post_must_sign_its_content_type(gw):
    bare = signed_headers(gw.key_id, gw.secret, "POST", EVENTS, BATCH)
    response = send(gw, {**bare, "Content-Type": "application/json"}, path=EVENTS, body=BATCH)
    assert response.status_code == 401
    assert response.json()["detail"].startswith("X-CDR-Signed-Headers: content-type sent but not signed")
    signed = signed_headers(gw.key_id, gw.secret, "POST", EVENTS, BATCH, headers={"Content-Type": "application/json"})
    assert send(gw, signed, path=EVENTS, body=BATCH).status_code == 200
    assert CallEvent.objects.count() == 1


@pytest.mark.parametrize(
    ("listed", "reason"),
    [
        ("x-cdr-tenant-id;content-type", "expected lowercase header names, sorted, joined by ';'"),
        ("Content-Type;x-cdr-tenant-id", "expected lowercase header names, sorted, joined by ';'"),
        ("content-type;;x-cdr-tenant-id", "expected lowercase header names, sorted, joined by ';'"),
        ("content-type;x-cdr-key", "x-cdr-key is part of the signature, not signed"),
    ],
)
def test_a_malformed_signed_headers_list_is_401_with_the_reason(gw, listed, reason):
    headers = {**capture(gw), SIGNED_HEADERS_HEADER: listed}
    response = send(gw, headers)
    assert (response.status_code, response.json()) == (401, {"detail": f"X-CDR-Signed-Headers: {reason}"})


def test_a_signed_value_outside_printable_ascii_is_401(gw):
    headers = capture(gw, **{"X-CDR-Codec": "pcmu\x7f"})
    response = send(gw, headers)
    assert response.json() == {"detail": "X-CDR-Signed-Headers: x-cdr-codec: a signed value must be printable ASCII"}


def v1_headers(gw, *, path=EVENTS, body=BATCH, secret=None):
    ts = str(int(time.time()))
    sha = hashlib.sha256(body).hexdigest()
    return {
        "Content-Type": "application/json",
        KEY_HEADER: gw.key_id,
        TIMESTAMP_HEADER: ts,
        SHA256_HEADER: sha,
        SIGNATURE_HEADER: signature_v1(secret or gw.secret, "POST", path, ts, sha),
    }


def _until(settings, value):
    settings.CDR_INGEST = {**settings.CDR_INGEST, "SIGNATURE_V1_UNTIL": value}


def test_v1_is_accepted_within_the_window_logged_once_per_gateway_and_counted(gw, settings, caplog, v1_uses):
    _until(settings, timezone.now().date().isoformat())  # the window's last day is today
    with caplog.at_level(logging.WARNING, logger="cdr.ingest"):
        for _ in range(3):
            response = send(gw, v1_headers(gw), path=EVENTS, body=BATCH)
            assert response.status_code == 200, response.content
    assert CallEvent.objects.count() == 1
    warnings = [r.getMessage() for r in caplog.records if r.name == "cdr.ingest" and "v1" in r.getMessage()]
    assert warnings == [
        f"gateway edge-1 (key {gw.key_id}) signs with v1: accepted during the deprecation window "
        "(1 v1 request since the last warning); sign with v2"
    ]
    assert v1_uses == [("edge-1", False)] * 3
    # A v1 request that is not the gateway's is neither accepted nor counted against it.
    forged = send(gw, v1_headers(gw, secret="not-the-secret"), path=EVENTS, body=BATCH)
    assert forged.json() == {"detail": "X-CDR-Signature: does not match (v1: method, path, timestamp, body SHA-256)"}
    assert len(v1_uses) == 3


def test_v1_after_the_window_is_401_telling_to_sign_v2(gw, settings, caplog, v1_uses):
    today = timezone.now().date()
    _until(settings, (today - timedelta(days=1)).isoformat())
    with caplog.at_level(logging.WARNING, logger="cdr.ingest"):
        response = send(gw, v1_headers(gw), path=EVENTS, body=BATCH)
    assert response.status_code == 401
    assert response.json() == {
        "detail": f"X-CDR-Signature: v1 signatures are no longer accepted (since {today.isoformat()}): "
        "sign with v2 (docs/ingest.md, Signing a request)"
    }
    assert CallEvent.objects.count() == 0
    assert v1_uses == [("edge-1", True)]
    assert any("signs with v1: refused" in r.getMessage() for r in caplog.records)
    # "off": v1 was never (or is no longer) accepted here; a forged one gets the same answer, uncounted.
    _until(settings, "off")
    forged = send(gw, v1_headers(gw, secret="not-the-secret"), path=EVENTS, body=BATCH)
    assert forged.json()["detail"] == (
        "X-CDR-Signature: v1 signatures are no longer accepted (on this server): "
        "sign with v2 (docs/ingest.md, Signing a request)"
    )
    assert v1_uses == [("edge-1", True)]
    # v2 goes on.
    v2 = signed_headers(gw.key_id, gw.secret, "POST", EVENTS, BATCH, headers={"Content-Type": "application/json"})
    assert send(gw, v2, path=EVENTS, body=BATCH).status_code == 200


def test_an_unknown_signature_version_is_401(gw):
    headers = capture(gw)
    headers[SIGNATURE_HEADER] = headers[SIGNATURE_HEADER].replace("v2=", "v3=")
    assert send(gw, headers).json() == {"detail": "X-CDR-Signature: expected v2=<hex HMAC-SHA256> (or v1's bare hex)"}
