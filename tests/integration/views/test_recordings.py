"""Local files (the embedded default): the signed view with Range, expiry, tampering, access log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from cdr import services
from cdr.models import Recording, RecordingAccess, Tenant
from cdr.services import events_ingest
from cdr.views.recordings import _parse_range
from tests.support.audio import conversation, read_wav
from tests.support.factories import call, event
from tests.support.recordings import artifact, meta
from tests.support.tenants import add_recording

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def stored(local_storage, make_sink, transactional_db):
    sink = make_sink()
    sink.begin_recording(meta("f1@gw"), 8000, "pcmu")
    sink.finish_recording(artifact("f1@gw", conversation(seed=51).blob))
    return Recording.objects.get(call_id="f1@gw")


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_local_recording_is_stored_as_files_with_a_wav(stored, local_storage):
    assert Path(local_storage.path(stored.storage_key)).read_bytes()[:3] == b"SN3"
    assert read_wav(Path(local_storage.path(stored.wav_key)).read_bytes())[:3] == (2, 2, 8000)


def test_a_spooled_upload_already_recorded_does_not_rewrite_the_original(stored, local_storage, recordings_conf):
    """A crash between recording an upload and removing its spool entry uploads it again on restart:
    rewriting the file in place would truncate it under a transcode that maps it (SIGBUS)."""
    from cdr.services.recordings import recording_upload_spooled, spool_name
    from cdr.storage.spool import RecordingSpool

    path = Path(local_storage.path(stored.storage_key))
    blob = path.read_bytes()
    meta = {
        "key": stored.storage_key,
        "tenant_id": stored.tenant_id,
        "call_id": stored.call_id,
        "format": stored.format,
        "codec": stored.codec,
        "sample_rate": stored.sample_rate,
        "channels": stored.channels,
        "bytes": stored.bytes,
        "sha256": stored.sha256,
    }
    spool = RecordingSpool(recordings_conf["SPOOL_DIR"])
    name = spool_name(call_id=stored.call_id, sha256=stored.sha256)
    before = path.stat()
    spool.put(name, meta=meta, data=blob)
    assert recording_upload_spooled(name=name, spool_dir=recordings_conf["SPOOL_DIR"]) == stored
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert spool.get(name) is None and Recording.objects.filter(call_id=stored.call_id).count() == 1
    # Gone from storage (a restore without it): the same retry writes it again.
    path.unlink()
    spool.put(name, meta=meta, data=blob)
    recording_upload_spooled(name=name, spool_dir=recordings_conf["SPOOL_DIR"])
    assert path.read_bytes() == blob


def test_signed_view_serves_whole_file_and_ranges(stored, staff, client, local_storage):
    url = services.recording_link(user=staff, recording=stored, purpose="playback")
    assert url.startswith("/recordings/file/")
    wav = Path(local_storage.path(stored.wav_key)).read_bytes()

    r = client.get(url)
    assert r.status_code == 200 and body(r) == wav
    assert r["Content-Type"] == "audio/wav" and r["Accept-Ranges"] == "bytes"
    assert r["Content-Length"] == str(len(wav)) and r["Content-Disposition"].startswith("inline")

    r = client.get(url, HTTP_RANGE="bytes=100-199")
    assert r.status_code == 206 and body(r) == wav[100:200]
    assert r["Content-Range"] == f"bytes 100-199/{len(wav)}" and r["Content-Length"] == "100"
    r = client.get(url, HTTP_RANGE="bytes=-10")
    assert r.status_code == 206 and body(r) == wav[-10:]
    r = client.get(url, HTTP_RANGE=f"bytes={len(wav) - 5}-")
    assert r.status_code == 206 and body(r) == wav[-5:]
    r = client.get(url, HTTP_RANGE=f"bytes={len(wav)}-")
    assert r.status_code == 416 and r["Content-Range"] == f"bytes */{len(wav)}"
    r = client.get(url, HTTP_RANGE="bytes=50-10")
    assert r.status_code == 416
    r = client.head(url)
    assert r.status_code == 200 and r["Content-Length"] == str(len(wav))

    dl = services.recording_link(user=staff, recording=stored, purpose="download", variant="original")
    r = client.get(dl)
    assert r.status_code == 200 and body(r)[:3] == b"SN3" and r["Content-Disposition"].startswith("attachment")
    assert RecordingAccess.objects.filter(recording=stored, user=staff).count() == 2


def test_tampered_and_expired_links_are_refused(stored, staff, client, settings):
    url = services.recording_link(user=staff, recording=stored, purpose="playback")
    token = url.rstrip("/").rsplit("/", 1)[-1]
    forged = reverse("cdr:recording-file", args=[token[:-2] + ("AA" if token[-2:] != "AA" else "BB")])
    assert client.get(forged).status_code == 403
    # A link for another key made without the secret.
    from django.core import signing

    other = signing.dumps({"r": stored.pk, "k": "../../etc/passwd", "a": 0}, salt="x", key="not-the-secret")
    assert client.get(reverse("cdr:recording-file", args=[other])).status_code == 403
    settings.CDR_RECORDINGS = {**settings.CDR_RECORDINGS, "LINK_SECONDS": -1}
    assert client.get(url).status_code == 410


def test_deleted_recording_link_is_gone(stored, staff, client):
    url = services.recording_link(user=staff, recording=stored, purpose="playback")
    Recording.objects.filter(pk=stored.pk).update(deleted_at="2026-01-01T00:00:00Z")
    assert client.get(url).status_code == 410


def test_link_view_is_for_staff_and_redirects_to_a_signed_link(stored, staff, client, django_user_model):
    link = reverse("cdr:recording-link", args=[stored.pk])
    r = client.get(link)
    assert r.status_code == 302 and "/login/" in r["Location"]
    django_user_model.objects.create_user("plain", password="pw")
    client.login(username="plain", password="pw")
    assert "/login/" in client.get(link)["Location"]
    client.login(username="staff", password="pw")
    r = client.get(link)
    assert r.status_code == 302 and r["Location"].startswith("/recordings/file/")
    assert client.get(r["Location"]).status_code == 200
    r = client.get(link + "?purpose=api")
    assert r.status_code == 200 and r.json()["url"].startswith("/recordings/file/")
    assert client.get(link + "?purpose=steal").status_code == 400
    assert client.get(reverse("cdr:recording-link", args=[stored.pk + 999])).status_code == 404
    assert list(RecordingAccess.objects.values_list("purpose", flat=True).order_by("id")) == ["playback", "api"]


def test_staff_of_another_tenant_gets_no_link(stored, client, django_user_model):
    from cdr.models import Tenant, TenantMembership

    other = django_user_model.objects.create_user("other", password="pw", is_staff=True)
    TenantMembership.objects.create(user=other, tenant=Tenant.objects.create(id=8))
    with pytest.raises(PermissionDenied):
        services.recording_link(user=other, recording=stored, purpose="playback")
    client.login(username="other", password="pw")
    # 404 as for an unknown id (no id oracle), whatever the purpose or variant asked.
    for query in ("", "?purpose=download&variant=original", "?purpose=api", "?purpose=steal"):
        assert client.get(reverse("cdr:recording-link", args=[stored.pk]) + query).status_code == 404
    assert client.get(reverse("cdr:recording-waveform", args=[stored.pk])).status_code == 404
    root = django_user_model.objects.create_superuser("root", password="pw")
    assert services.recording_link(user=root, recording=stored, purpose="api").startswith("/recordings/file/")
    assert list(RecordingAccess.objects.values_list("user__username", flat=True)) == ["root"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", (0, 9)),
        ("bytes=5-", (5, 99)),
        ("bytes=-1", (99, 99)),
        ("bytes=-500", (0, 99)),
        ("bytes=90-500", (90, 99)),
        ("items=0-5", None),
        ("bytes=0-1,5-6", None),
    ],
)
def test_parse_range(header, expected):
    assert _parse_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=7-3", "bytes=-0", "bytes=-"])
def test_parse_range_unsatisfiable(header):
    with pytest.raises(ValueError):
        _parse_range(header, 100)


def test_s3_without_credentials_fails_at_start_up_naming_them(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "CDR_VAR_DIR": str(tmp_path), "HOME": str(tmp_path), "CDR_S3_BUCKET": "rec"}
    proc = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0
    assert "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set" in proc.stderr
    env["AWS_ACCESS_KEY_ID"] = "x"
    proc = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0 and "AWS_SECRET_ACCESS_KEY must be set" in proc.stderr
    assert "AWS_ACCESS_KEY_ID" not in proc.stderr


def test_downloads_are_named_by_call_id_and_tenant_local_start(staff, client, local_recordings, db):
    weird = 'a/b%20c "d"@gw'
    events_ingest(events=[event("ringing", 0.4, call(weird, tenant_id=7))])  # started at T0, 00:30 UTC
    Tenant.objects.filter(id=7).update(time_zone="Europe/Paris")
    recording = add_recording(7, weird)
    client.force_login(staff)
    expected = (
        'filename="a_b_20c_d_@gw_2026-03-29_01-30-00.wav"; '
        "filename*=UTF-8''a_b%2520c%20_d_%40gw_2026-03-29_01-30-00.wav"
    )
    for purpose, kind in (("download", "attachment"), ("playback", "inline")):
        link = client.get(reverse("cdr:recording-link", args=[recording.pk]), {"purpose": purpose})
        served = client.get(link["Location"])
        assert served.status_code == 200 and served["Content-Disposition"] == f"{kind}; {expected}"
    original = services.recording_link(user=staff, recording=recording, purpose="download", variant="original")
    assert client.get(original)["Content-Disposition"].startswith(
        'attachment; filename="a_b_20c_d_@gw_2026-03-29_01-30-00.'
    )
