"""GET /api/v1/recordings/{id}/media: a redirect to the short-lived link, Range there, access recorded."""

import urllib.error
import urllib.request

import pytest
from django.utils import timezone

from cdr.models import Recording, RecordingAccess
from cdr.services.api_tokens import api_token_create
from tests.support.http import bearer_client
from tests.support.tenants import TENANT_A, TENANT_B, add_recording, wav_bytes

pytestmark = pytest.mark.django_db


def media(pk: int) -> str:
    return f"/api/v1/recordings/{pk}/media"


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def recorded(calls, local_recordings):
    a, b = calls
    return add_recording(TENANT_A, a.answered), add_recording(TENANT_B, b.answered)


def test_redirects_to_the_signed_local_file_which_serves_ranges(api, alice, recorded, client):
    mine, _ = recorded
    wav = wav_bytes()
    response = api.get(media(mine.pk))
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("http://testserver/recordings/file/")
    assert response["Cache-Control"] == "private, no-store"

    # The link itself needs no token: it is signed and expires within minutes.
    whole = client.get(location)
    assert whole.status_code == 200 and body(whole) == wav
    part = client.get(location, HTTP_RANGE="bytes=44-1043")
    assert part.status_code == 206 and body(part) == wav[44:1044]
    assert part["Content-Range"] == f"bytes 44-1043/{len(wav)}"
    assert client.get(location, HTTP_RANGE=f"bytes={len(wav)}-").status_code == 416

    [access] = RecordingAccess.objects.filter(recording=mine)
    assert (access.user_id, access.purpose, access.variant) == (alice.pk, "api", "wav")


def test_variant_original_and_a_bad_variant(api, recorded, client):
    mine, _ = recorded
    response = api.get(media(mine.pk), {"variant": "original"})
    assert response.status_code == 302
    assert body(client.get(response["Location"]))[:4] == b"RIFF"  # the stereo_pcm original is a WAV
    bad = api.get(media(mine.pk), {"variant": "mp3"})
    assert bad.status_code == 400 and "variant" in bad.json()
    assert list(RecordingAccess.objects.values_list("variant", flat=True)) == ["original"]


def test_another_tenants_and_unknown_recordings_are_404_and_not_recorded(api, recorded):
    _, theirs = recorded
    for pk in (theirs.pk, theirs.pk + 1000, 2**63, 10**30):
        response = api.get(media(pk))
        assert response.status_code == 404, pk
    assert not RecordingAccess.objects.exists()


def test_a_deleted_recording_is_410(api, recorded):
    mine, _ = recorded
    Recording.objects.filter(pk=mine.pk).update(deleted_at=timezone.now())
    response = api.get(media(mine.pk))
    assert response.status_code == 410 and "retention" in response.json()["detail"]


def test_media_needs_a_token_and_a_staff_user(recorded, client, django_user_model):
    mine, _ = recorded
    assert client.get(media(mine.pk)).status_code == 401
    # Recordings are for staff (the rule of cdr.selectors.recordings), calls for any member.
    plain = django_user_model.objects.create_user("plain", password="x" * 12)
    plain.cdr_memberships.create(tenant_id=TENANT_A)
    response = bearer_client(api_token_create(user=plain).key).get(media(mine.pk))
    assert response.status_code == 403
    assert not RecordingAccess.objects.exists()


def fetch(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_on_s3_the_redirect_is_a_presigned_url_that_serves_ranges(api, calls, s3_storage):
    a, _ = calls
    recording = add_recording(TENANT_A, a.answered)
    wav = wav_bytes()
    response = api.get(media(recording.pk))
    assert response.status_code == 302
    location = response["Location"]
    assert "X-Amz-Signature=" in location
    status, headers, part = fetch(location, {"Range": "bytes=100-299"})
    assert status == 206 and part == wav[100:300]
    assert headers["Content-Range"] == f"bytes 100-299/{len(wav)}"
    assert RecordingAccess.objects.filter(recording=recording, purpose="api").count() == 1
