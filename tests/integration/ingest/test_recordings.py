"""POST /ingest/v1/recordings/{call_id}: streamed to the spool while hashed, verified, capped, then
stored by the StorageRecordingSink (real S3 server and real local files)."""

from __future__ import annotations

import hashlib
import tracemalloc

import pytest

from cdr.ingest.signing import signed_headers
from cdr.models import Call, Recording, Tenant, WavStatus
from cdr.services.gateways import gateway_create
from tests.support.audio import conversation
from tests.support.http import GatewayClient, upload
from tests.support.s3 import BUCKET

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def gw(db):
    return GatewayClient(gateway_create(name="edge-1", tenant_ids=[7]))


def spool_files(sink):
    return sorted(p.name for p in sink.spool.path.iterdir())


def test_an_upload_is_stored_through_the_sink_and_a_repost_is_the_same_object(weed, s3_storage, sink, gw):
    blob = conversation(seed=5).blob
    response = upload(gw, "up-1@gw", blob)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["object_key"].startswith("recordings/7/") and body["object_key"].endswith(".sn3")
    assert body["bytes"] == len(blob) and body["sha256"] == hashlib.sha256(blob).hexdigest()
    obj = weed.client().get_object(Bucket=BUCKET, Key=body["object_key"])["Body"].read()
    assert obj == blob
    rec = Recording.objects.get(call_id="up-1@gw")
    assert (rec.tenant_id, rec.codec, rec.sample_rate, rec.bytes) == (7, "pcmu", 8000, len(blob))
    assert rec.wav_status == WavStatus.READY, rec.wav_error  # the same transcode path as FinishRecording
    again = upload(gw, "up-1@gw", blob)
    assert again.status_code == 200 and again.json()["object_key"] == body["object_key"]
    assert Recording.objects.count() == 1
    assert spool_files(sink) == []


def test_the_answer_names_the_recording_by_id_and_key_never_by_a_server_path(local_storage, sink, gw):
    blob = conversation(seed=7).blob
    response = upload(gw, "where@gw", blob)
    assert response.status_code == 201, response.content
    rec = Recording.objects.get(call_id="where@gw")
    assert response.json() == {
        "recording_id": rec.pk,
        "call_id": "where@gw",
        "object_key": rec.storage_key,
        "bytes": len(blob),
        "sha256": hashlib.sha256(blob).hexdigest(),
    }
    again = upload(gw, "where@gw", blob)
    assert again.status_code == 200 and again.json() == response.json()
    for answer in (response, again):
        assert b"file:" not in answer.content and str(local_storage.location).encode() not in answer.content


def test_a_checksum_mismatch_is_400_and_nothing_is_kept(local_storage, local_recordings, sink, gw):
    blob = conversation(seed=6).blob
    response = upload(gw, "bad@gw", blob, sha="0" * 64)
    assert response.status_code == 400
    assert response.json()["X-CDR-Content-SHA256"].startswith("X-CDR-Content-SHA256: does not match the body")
    assert Recording.objects.count() == 0 and spool_files(sink) == []
    assert not local_recordings.exists() or not any(local_recordings.rglob("*"))


def test_a_body_over_the_cap_is_413_and_nothing_is_kept(local_storage, sink, gw, settings):
    settings.CDR_INGEST = {**settings.CDR_INGEST, "MAX_RECORDING_BYTES": 1000}
    response = upload(gw, "big@gw", b"x" * 1001)
    assert response.status_code == 413 and response.json()["body"].startswith("body: 1001 bytes, more than")
    assert upload(gw, "fits@gw", b"x" * 1000).status_code == 201
    assert Recording.objects.count() == 1 and spool_files(sink) == []


def test_a_body_over_the_cap_without_a_declared_length_is_cut_off(local_storage, sink, gw, settings):
    from cdr.ingest.recordings import RecordingRefused, RecordingUpload, gateway_recording_accept
    from cdr.models import Gateway

    settings.CDR_INGEST = {**settings.CDR_INGEST, "MAX_RECORDING_BYTES": 3 << 20}
    upload_ = RecordingUpload("s@gw", 7, "sn3", "pcmu", 8000, 1, "0" * 64)
    with pytest.raises(RecordingRefused) as refused:
        gateway_recording_accept(
            gateway=Gateway.objects.get(), upload=upload_, stream=Endless(), declared_bytes=None, sink=sink
        )
    assert refused.value.status == 413 and spool_files(sink) == []


class Endless:
    def read(self, n: int) -> bytes:
        return b"\0" * n


class Chunks:
    """A request body produced chunk by chunk, as a socket delivers it."""

    def __init__(self, size: int) -> None:
        self.left, self.digest = size, hashlib.sha256()

    def read(self, n: int) -> bytes:
        n = min(n, self.left)
        self.left -= n
        chunk = bytes([self.left % 251]) * n
        self.digest.update(chunk)
        return chunk


def test_a_large_body_is_streamed_to_disk_never_held_in_memory(local_storage, sink, gw, tmp_path):
    from cdr.ingest.recordings import RecordingUpload, body_spool, gateway_recording_accept
    from cdr.models import Gateway

    size = 48 << 20
    tracemalloc.start()
    try:
        path, received, sha = body_spool(Chunks(size), tmp_path, cap=64 << 20, declared=size)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received == size and path.stat().st_size == size
    assert peak < 8 << 20  # a few 1 MiB chunks, not the 48 MiB body
    probe = Chunks(size)
    while probe.read(1 << 20):
        pass
    assert sha == probe.digest.hexdigest()
    # The whole path: the file is moved into the spool and uploaded as it is.
    upload_ = RecordingUpload("long@gw", 7, "stereo_pcm", "l16", 8000, 2, sha)
    stored = gateway_recording_accept(
        gateway=Gateway.objects.get(), upload=upload_, stream=Chunks(size), declared_bytes=size, sink=sink
    )
    assert stored.created and stored.bytes == size and local_storage.size(stored.object_key) == size
    assert spool_files(sink) == []


def test_tenants_the_gateway_may_not_report_are_403(local_storage, sink, gw):
    assert upload(gw, "t8@gw", b"abc", **{"X-CDR-Tenant-Id": "8"}).json() == {
        "detail": "X-CDR-Tenant-Id: gateway 'edge-1' may not report tenant 8"
    }
    Tenant.objects.create(id=8)
    Call.objects.create(call_id="theirs@gw", tenant_id=8, direction="inbound", started_at="2026-03-29T00:00:00Z")
    response = upload(gw, "theirs@gw", b"abc", **{"X-CDR-Tenant-Id": "0"})
    assert response.status_code == 403 and response.json()["detail"].startswith("call_id: belongs to a tenant")
    assert Recording.objects.count() == 0 and spool_files(sink) == []


@pytest.mark.parametrize(
    ("headers", "parameter"),
    [
        ({"X-CDR-Tenant-Id": ""}, "X-CDR-Tenant-Id"),
        ({"X-CDR-Tenant-Id": "seven"}, "X-CDR-Tenant-Id"),
        ({"X-CDR-Sample-Rate": "-8000"}, "X-CDR-Sample-Rate"),
        ({"X-CDR-Channels": "3"}, "X-CDR-Channels"),
        ({"X-CDR-Format": "mp3"}, "X-CDR-Format"),
    ],
)
def test_bad_headers_are_400_naming_them(local_storage, sink, gw, headers, parameter):
    response = upload(gw, "h@gw", b"abc", **headers)
    assert response.status_code == 400
    assert list(response.json()) == [parameter]
    assert spool_files(sink) == []


def test_a_call_id_with_nul_is_400_not_a_database_error(local_storage, sink, gw):
    """%00 in the URL decodes to NUL, which the client signs as part of the path (docs/ingest.md)."""
    sent = {"X-CDR-Tenant-Id": "7", "X-CDR-Codec": "PCMU", "X-CDR-Sample-Rate": "8000", "X-CDR-Channels": "1"}
    sent["Content-Type"] = "application/octet-stream"
    signed = signed_headers(gw.key_id, gw.secret, "POST", "/ingest/v1/recordings/a\x00b@gw", b"abc", headers=sent)
    response = gw.client.generic(
        "POST", "/ingest/v1/recordings/a%00b@gw", b"abc", content_type="application/octet-stream", headers=signed
    )
    assert response.status_code == 400, response.content
    assert response.json() == {"call_id": "call_id: contains NUL, which cannot be stored"}
    assert spool_files(sink) == []


def test_an_empty_body_and_a_wrong_content_type_are_refused(local_storage, sink, gw):
    assert upload(gw, "e@gw", b"").json() == {"body": "body: empty"}
    assert upload(gw, "e@gw", b"abc", content_type="application/json").status_code == 415
    assert spool_files(sink) == []


def test_a_tenant_whose_recording_policy_is_off_gets_200_and_nothing_stored(local_storage, sink, gw):
    from cdr.services import recording_policy_set

    recording_policy_set(tenant_id=7, enabled=False)
    response = upload(gw, "off@gw", b"abc")
    assert response.status_code == 200
    assert response.json()["object_key"] == "" and "policy is off" in response.json()["detail"]
    assert Recording.objects.count() == 0 and spool_files(sink) == []
