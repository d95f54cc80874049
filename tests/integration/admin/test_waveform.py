"""The waveform image on the call page: served as SVG to who may see the call, cached next to the WAV."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.core.files.storage import storages
from django.urls import reverse
from django.utils import timezone

from cdr import services
from cdr.models import Call, Recording, RecordingAccess, WavStatus
from cdr.services.recordings import waveform_key
from tests.support.tenants import TENANT_A, TENANT_B, staff_user

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"


def recording_of(call_id: str) -> Recording:
    return Recording.objects.get(call_id=call_id)


def waveform_url(recording: Recording) -> str:
    return reverse("cdr:recording-waveform", args=[recording.pk])


def recordings_section(client, call_id: str) -> str:
    pk = Call.objects.get(call_id=call_id).pk
    response = client.get(reverse("admin:cdr_call_change", args=[pk]))
    assert response.status_code == 200
    html = response.content.decode()
    start = html.index('id="cdr-recordings"')
    return html[start : html.index("</fieldset>", start)]


def test_detail_page_shows_the_waveform_next_to_the_player(staff_client, calls):
    a, _ = calls
    recording = recording_of(a.answered)
    html = recordings_section(staff_client, a.answered)
    player = html.index("<audio controls")
    img = re.search(r'<img class="cdr-waveform" src="([^"]+)"[^>]*>', html)
    assert img is not None and img.group(1) == waveform_url(recording)
    assert 'alt="Waveform: caller above, agent below"' in img.group(0)
    # Right after the player, inside the same recording block.
    assert player < img.start() < html.index('class="cdr-download"')
    # No WAV (pending), no image.
    Recording.objects.filter(pk=recording.pk).update(wav_status=WavStatus.PENDING)
    assert "cdr-waveform" not in recordings_section(staff_client, a.answered)
    assert "cdr-waveform" not in recordings_section(staff_client, a.failed)  # no recording at all


def test_waveform_is_valid_svg_for_the_tenants_staff_and_is_cached_once(staff_client, calls, local_recordings):
    a, _ = calls
    recording = recording_of(a.answered)
    key = waveform_key(recording.wav_key)
    storage = storages["recordings"]
    assert key == f"{recording.wav_key}.waveform.svg" and not storage.exists(key)

    response = staff_client.get(waveform_url(recording))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response["Content-Security-Policy"]
    root = ET.fromstring(response.content)
    assert root.tag == f"{SVG}svg"
    lanes = root.findall(f"{SVG}g")
    assert [lane.get("data-label") for lane in lanes] == ["caller", "agent"]
    # The test WAV has a tone on both channels for its whole 2 s: every column of both lanes drawn.
    for lane in lanes:
        assert len(re.findall(r"M", lane.find(f"{SVG}path").get("d"))) == 600
    assert root.get("data-duration-s") == "2.000"
    assert b"<script" not in response.content.lower()

    # Cached in storage next to the WAV; the cached object is served from then on.
    assert storage.exists(key)
    with storage.open(key, "rb") as f:
        assert f.read() == response.content
    with storage.open(key, "wb") as f:
        f.write(b'<svg xmlns="http://www.w3.org/2000/svg"><title>cached</title></svg>')
    assert b"cached" in staff_client.get(waveform_url(recording)).content
    # Missing again: drawn again from the WAV.
    storage.delete(key)
    again = staff_client.get(waveform_url(recording))
    assert again.status_code == 200 and again.content == response.content and storage.exists(key)
    # A waveform is not a listen: the access log stays empty.
    assert not RecordingAccess.objects.filter(recording=recording).exists()


def test_another_tenants_recording_is_a_404_on_every_recording_url(client, calls, local_recordings):
    a, b = calls
    recording_a, recording_b = recording_of(a.answered), recording_of(b.answered)
    client.force_login(staff_user("bob-of-b", TENANT_B))
    # 404 as for an unknown id, on every recording URL (no id oracle; the API answers the same).
    unknown = recording_b.pk + 999
    for pk, expected in ((recording_a.pk, 404), (unknown, 404)):
        assert client.get(reverse("cdr:recording-waveform", args=[pk])).status_code == expected
        for query in ("", "?purpose=download", "?purpose=api&variant=original", "?purpose=steal"):
            assert client.get(reverse("cdr:recording-link", args=[pk]) + query).status_code == expected
    assert client.get(reverse("cdr:recording-link", args=[2**70])).status_code == 404
    assert not storages["recordings"].exists(waveform_key(recording_a.wav_key))  # nothing computed for B's staff
    assert client.get(waveform_url(recording_b)).status_code == 200


def test_anonymous_and_non_staff_go_to_login(client, calls, django_user_model):
    a, _ = calls
    url = waveform_url(recording_of(a.answered))
    assert "/login/" in client.get(url)["Location"]
    client.force_login(django_user_model.objects.create_user("plain", password="pw"))
    assert "/login/" in client.get(url)["Location"]
    assert client.post(url).status_code in (302, 405)  # never a write


def test_superuser_sees_every_tenants_waveform(superuser_client, calls):
    _, b = calls
    assert superuser_client.get(waveform_url(recording_of(b.answered))).status_code == 200


def test_no_wav_or_purged_recording_is_gone(staff_client, calls, local_recordings):
    a, _ = calls
    recording = recording_of(a.answered)
    url = waveform_url(recording)
    Recording.objects.filter(pk=recording.pk).update(wav_status=WavStatus.PENDING)
    assert staff_client.get(url).status_code == 410
    Recording.objects.filter(pk=recording.pk).update(wav_status=WavStatus.READY)
    storages["recordings"].delete(recording.wav_key)
    response = staff_client.get(url)
    assert response.status_code == 410 and b"missing" in response.content


def test_retention_purge_deletes_the_cached_waveform_too(staff_client, calls, local_recordings):
    a, _ = calls
    recording = recording_of(a.answered)
    storage = storages["recordings"]
    assert staff_client.get(waveform_url(recording)).status_code == 200
    assert storage.exists(waveform_key(recording.wav_key))
    services.recording_policy_set(tenant_id=TENANT_A, retention_days=1)
    Recording.objects.filter(pk=recording.pk).update(created_at=timezone.now() - timedelta(days=2))
    assert services.recordings_purge() == 1
    assert not storage.exists(recording.wav_key) and not storage.exists(waveform_key(recording.wav_key))
    assert staff_client.get(waveform_url(recording)).status_code == 410
