"""Private objects, presigned links (Range, expiry), access records and retention on real S3."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from cdr import services
from cdr.models import Recording, RecordingAccess
from tests.support.audio import conversation, read_wav
from tests.support.recordings import artifact, meta
from tests.support.s3 import BUCKET

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[3]


def fetch(url, headers=None):
    """(status, headers, body) without raising on 4xx."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


@pytest.fixture
def stored(weed, s3_storage, make_sink):
    sink = make_sink()
    call = conversation(seed=21)
    sink.begin_recording(meta("l1@gw"), 8000, "pcmu")
    sink.finish_recording(artifact("l1@gw", call.blob))
    return Recording.objects.get(call_id="l1@gw")


def test_objects_are_private_and_presigned_links_work_with_range(weed, stored, staff, django_user_model):
    for key in (stored.storage_key, stored.wav_key):
        status, _, body = fetch(f"{weed.endpoint}/{BUCKET}/{key}")
        assert status == 403, body[:200]  # anonymous GET refused

    url = services.recording_link(user=staff, recording=stored, purpose="playback")
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url
    status, headers, wav = fetch(url)
    assert status == 200 and wav[:4] == b"RIFF"
    assert read_wav(wav)[:3] == (2, 2, 8000)

    status, headers, part = fetch(url, {"Range": "bytes=44-1043"})
    assert status == 206 and headers["Content-Range"] == f"bytes 44-1043/{len(wav)}"
    assert part == wav[44:1044]
    status, _, _ = fetch(url, {"Range": f"bytes={len(wav) + 10}-"})
    assert status == 416

    dl = services.recording_link(user=staff, recording=stored, purpose="download", variant="original")
    status, headers, body = fetch(dl)
    assert status == 200 and body[:3] == b"SN3"
    # Named by the Call-ID and when it started (no call row here: when it was stored), both forms.
    assert re.fullmatch(
        r"attachment; filename=\"l1@gw_(\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d)\.sn3\"; filename\*=UTF-8''l1%40gw_\1\.sn3",
        headers["Content-Disposition"],
    ), headers["Content-Disposition"]

    accesses = list(RecordingAccess.objects.filter(recording=stored).order_by("at", "id"))
    assert [(a.user_id, a.purpose, a.variant) for a in accesses] == [
        (staff.pk, "playback", "wav"),
        (staff.pk, "download", "original"),
    ]
    nobody = django_user_model.objects.create_user("plain", password="pw")
    with pytest.raises(PermissionDenied):
        services.recording_link(user=nobody, recording=stored, purpose="playback")
    assert RecordingAccess.objects.count() == 2


def test_links_are_signed_for_the_address_browsers_reach(weed, stored, staff, settings):
    """CDR_S3_PUBLIC_ENDPOINT_URL (the "recordings_links" alias): the servers reach S3 at one
    address (docker-compose: http://s3:8333), browsers at another; links name the browsers' one,
    signed for it, and the server accepts them there."""
    internal = urlsplit(weed.endpoint)
    public = f"http://localhost:{internal.port}"  # the same server under another host name
    assert internal.hostname == "127.0.0.1"
    options = {**settings.STORAGES["recordings"]["OPTIONS"], "endpoint_url": public}
    settings.STORAGES = {
        **settings.STORAGES,
        "recordings_links": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options},
    }
    url = services.recording_link(user=staff, recording=stored, purpose="playback")
    assert url.startswith(f"{public}/{BUCKET}/")
    status, _, wav = fetch(url)
    assert status == 200 and wav[:4] == b"RIFF"
    # Signed for its host: the same query at the internal address does not verify.
    assert fetch(url.replace(public, weed.endpoint, 1))[0] == 403


def test_presigned_links_expire(weed, stored, staff, settings):
    settings.CDR_RECORDINGS = {**settings.CDR_RECORDINGS, "LINK_SECONDS": 1}
    url = services.recording_link(user=staff, recording=stored, purpose="api")
    assert fetch(url)[0] == 200
    time.sleep(2.2)
    status, _, body = fetch(url)
    assert status == 403 and b"expired" in body.lower()


def test_retention_purges_expired_objects_keeps_rows_and_honours_legal_hold(weed, s3_storage, make_sink, staff):
    sink = make_sink()
    for n, call_id in enumerate(["r1@gw", "r2@gw", "r3@gw"]):
        sink.begin_recording(meta(call_id, tenant_id=31), 8000, "pcmu")
        sink.finish_recording(artifact(call_id, conversation(seed=30 + n).blob))
    sink.begin_recording(meta("r4@gw", tenant_id=32), 8000, "pcmu")  # a tenant keeping forever
    sink.finish_recording(artifact("r4@gw", conversation(seed=40).blob))
    services.recording_policy_set(tenant_id=31, retention_days=30)
    old = timezone.now() - timedelta(days=31)
    Recording.objects.filter(call_id__in=["r1@gw", "r2@gw", "r4@gw"]).update(created_at=old)
    services.legal_hold_place(call_id="r2@gw", reason="dispute", user=staff)
    s3 = weed.client()

    def exists(key):
        try:
            s3.head_object(Bucket=BUCKET, Key=key)
            return True
        except s3.exceptions.ClientError:
            return False

    assert services.recordings_purge() == 1
    r1, r2, r3, r4 = (Recording.objects.get(call_id=c) for c in ["r1@gw", "r2@gw", "r3@gw", "r4@gw"])
    assert r1.deleted_at is not None and not exists(r1.storage_key) and not exists(r1.wav_key)
    assert r1.sha256 and r1.bytes and r1.storage_key  # the metadata stays
    for kept in (r2, r3, r4):
        assert kept.deleted_at is None and exists(kept.storage_key) and exists(kept.wav_key)
    with pytest.raises(services.RecordingUnavailable):
        services.recording_link(user=staff, recording=r1, purpose="playback")

    assert services.recordings_purge() == 0  # idempotent
    services.legal_hold_release(call_id="r2@gw")
    from cdr.tasks.recordings import recordings_purge

    assert recordings_purge.apply().get() == 1
    r2.refresh_from_db()
    assert r2.deleted_at is not None and not exists(r2.storage_key)


SETTINGS_SCRIPT = """
import os, sys, urllib.request, urllib.error
sys.path.insert(0, os.getcwd())
os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
import django; django.setup()
from django.core.files.base import ContentFile
from django.core.files.storage import storages
st = storages["recordings"]
key = st.save("settings-check/a.bin", ContentFile(b"0123456789"))
again = st.save("settings-check/a.bin", ContentFile(b"abcdefghij"))
url = st.url(key)
def status(u, h=None):
    try:
        return urllib.request.urlopen(urllib.request.Request(u, headers=h or {})).status
    except urllib.error.HTTPError as e:
        return e.code
anon = url.split("?")[0]
r = urllib.request.urlopen(urllib.request.Request(url, headers={"Range": "bytes=2-4"})).read()
print(key, again, "X-Amz-Expires=300" in url, status(anon), r.decode(), st.default_acl, st.querystring_auth)
"""


def test_the_settings_module_builds_a_working_private_s3_storage(weed, tmp_path):
    """The env-driven settings path (not the test fixture's copy) against the real server."""
    from tests.support.s3 import ACCESS_KEY, SECRET_KEY

    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "CDR_VAR_DIR": str(tmp_path),
        "CDR_S3_BUCKET": BUCKET,
        "CDR_S3_ENDPOINT_URL": weed.endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    }
    proc = subprocess.run(
        [sys.executable, "-c", SETTINGS_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    key, again, sigv4, anon, part, acl, signed = proc.stdout.split()
    assert key == again == "settings-check/a.bin"  # overwrite, no "_a1b2c3" copy
    assert sigv4 == "True" and anon == "403" and part == "cde"
    # SeaweedFS ignores object ACLs (a public-read object is refused too), so the ACL we send is
    # checked here rather than through the server.
    assert (acl, signed) == ("private", "True")
