"""StorageRecordingSink on a real S3 server: deterministic keys, the WAV, taps, outages, dedupe."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from cdr.hooks import RecordingArtifact, RecordingChannel
from cdr.models import Recording, WavStatus
from tests.support.audio import RATE, conversation, read_wav
from tests.support.recordings import artifact, meta
from tests.support.s3 import BUCKET

pytestmark = pytest.mark.django_db(transaction=True)


def keys_under(weed, prefix):
    listing = weed.client().list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def get_object(weed, key):
    return weed.client().get_object(Bucket=BUCKET, Key=key)["Body"].read()


def test_finish_stores_the_original_at_a_deterministic_key_and_a_correct_stereo_wav(weed, s3_storage, make_sink):
    sink = make_sink()
    call = conversation(seed=3)
    assert sink.begin_recording(meta("a1@gw"), 8000, "pcmu")
    result = sink.finish_recording(artifact("a1@gw", call.blob))

    assert result.object_key.startswith("recordings/7/2026/03/29/a1_gw-")
    assert result.object_key.endswith(".sn3") and result.bytes == len(call.blob)
    assert result.url == f"s3://{BUCKET}/{result.object_key}"
    assert get_object(weed, result.object_key) == call.blob  # the untouched original

    rec = Recording.objects.get(call_id="a1@gw")
    assert (rec.tenant_id, rec.format, rec.codec, rec.bytes) == (7, "sn3", "pcmu", len(call.blob))
    assert rec.storage_key == result.object_key and len(rec.sha256) == 64
    # The transcode ran (eager Celery, after commit) and put the WAV next to the original.
    assert rec.wav_status == WavStatus.READY, rec.wav_error
    assert rec.wav_key == result.object_key[: -len(".sn3")] + ".wav"
    assert rec.duration_ms == 2500
    channels, width, rate, frames = read_wav(get_object(weed, rec.wav_key))
    assert (channels, width, rate) == (2, 2, RATE)
    assert frames.shape == call.expected.shape
    assert np.array_equal(frames, call.expected)  # caller left, agent right, agent 1.5 s in
    assert rec.wav_bytes == 44 + frames.size * 2


def test_a_retried_finish_overwrites_the_same_object_and_row(weed, s3_storage, make_sink):
    sink = make_sink()
    call = conversation(seed=4)
    first = sink.finish_recording(artifact("a2@gw", call.blob))
    again = sink.finish_recording(artifact("a2@gw", call.blob))
    # Also a blob retried by a fresh process that has no dedupe row yet: same key, overwritten.
    Recording.objects.filter(call_id="a2@gw").delete()
    third = make_sink().finish_recording(artifact("a2@gw", call.blob))
    assert first.object_key == again.object_key == third.object_key
    prefix = first.object_key.rsplit("/", 1)[0] + "/"
    stem = first.object_key[: -len(".sn3")]
    assert keys_under(weed, prefix) == [stem + ".sn3", stem + ".wav"]
    assert Recording.objects.filter(call_id="a2@gw").count() == 1


def test_on_bye_payload_already_stored_is_not_stored_again(weed, s3_storage, make_sink):
    sink = make_sink()
    call = conversation(seed=5)
    stored = sink.finish_recording(artifact("a3@gw", call.blob))
    before = get_object(weed, stored.object_key)
    again = sink.store_bye_artifact(meta("a3@gw"), artifact("a3@gw", call.blob))
    assert again.object_key == stored.object_key
    assert sink.stats()["duplicate"] == 1
    assert get_object(weed, stored.object_key) == before
    assert Recording.objects.filter(call_id="a3@gw").count() == 1
    # An on_bye with a blob never seen goes through the same path; an empty one does nothing.
    other = conversation(seed=6).blob
    fresh = sink.store_bye_artifact(meta("a3@gw"), artifact("", other))
    assert fresh.object_key != stored.object_key and get_object(weed, fresh.object_key) == other
    assert sink.store_bye_artifact(meta("a3@gw"), artifact("a3@gw", b"")).object_key == ""
    assert Recording.objects.filter(call_id="a3@gw").count() == 2


def test_storage_down_spools_answers_within_the_timeout_and_uploads_when_back(weed, s3_storage, make_sink):
    from cdr.tasks.options import MEDIA_TRANSIENT as TRANSIENT
    from cdr.tasks.recordings import recording_upload

    sink = make_sink(retry_seconds=0.3, max_retry_seconds=0.6)
    call = conversation(seed=7)
    weed.stop_gateway()
    try:
        # It returns with storage down (a hang would fail the join: a liveness bound, not a speed
        # figure; bench/ measures times), having spooled instead of uploaded.
        answered: list = []
        caller = threading.Thread(
            target=lambda: answered.append(sink.finish_recording(artifact("a4@gw", call.blob), timeout=1.0))
        )
        caller.start()
        caller.join(timeout=60)
        assert answered, "finish_recording did not return with storage down"
        (result,) = answered
        assert result.object_key.endswith(".sn3") and result.bytes == len(call.blob)
        names = sink.spool.names()
        assert len(names) == 1 and sink.spool.get(names[0]).meta["key"] == result.object_key
        assert not Recording.objects.filter(call_id="a4@gw").exists()
        # The upload task meets the outage as a transient error (it is retried, not dropped).
        with pytest.raises(TRANSIENT):
            from cdr.services import recording_upload_spooled

            recording_upload_spooled(name=names[0], spool_dir=sink.spool.path)
        time.sleep(1.0)  # a few failed retries of the sink's own retry thread
        assert sink.spool.names() == names
    finally:
        weed.start_gateway()
    sink.retry_now()
    assert sink.flush(timeout=20), sink.stats()
    assert get_object(weed, result.object_key) == call.blob
    rec = Recording.objects.get(call_id="a4@gw")
    assert rec.storage_key == result.object_key and rec.wav_status == WavStatus.READY
    # The task on the same (now empty) entry is a no-op: idempotent.
    assert recording_upload.apply(args=[names[0]]).get() is None
    assert sink.stats()["upload_failures"] >= 2


def test_the_upload_task_uploads_a_spooled_recording(weed, s3_storage, make_sink, recordings_conf):
    """What a media worker sharing the spool directory does after an outage."""
    from cdr.tasks.recordings import recording_upload

    call = conversation(seed=8)
    weed.stop_gateway()
    try:
        sink = make_sink(retry_seconds=30, max_retry_seconds=30)  # keep its retry thread out of the way
        result = sink.finish_recording(artifact("a5@gw", call.blob), timeout=0.5)
        sink.close()
    finally:
        weed.start_gateway()
    (name,) = [n for n in sink.spool.names()]
    pk = recording_upload.apply(args=[name]).get()
    rec = Recording.objects.get(pk=pk)
    assert rec.storage_key == result.object_key and get_object(weed, rec.storage_key) == call.blob
    assert sink.spool.names() == []


def test_pcm_taps_from_two_threads_become_one_stereo_wav_on_one_clock(weed, s3_storage, make_sink):
    sink = make_sink()
    assert sink.begin_recording(meta("a6@gw"), 8000, "pcmu")
    assert sink.begin_recording(meta("a6@gw"), 8000, "pcmu")  # a re-INVITE: nothing reset
    chunk = 160
    caller = (np.arange(50 * chunk) % 1000 + 1).astype("<i2")
    agent = -(np.arange(50 * chunk) % 700 + 1).astype("<i2")

    def feed(ch, pcm, delay):
        time.sleep(delay)
        for i in range(50):
            buf = bytearray(pcm[i * chunk : (i + 1) * chunk].tobytes())
            sink.append_pcm("a6@gw", ch, buf)
            buf[:] = b"\0" * len(buf)  # the stack reuses its buffer: the sink must have copied

    threads = [
        threading.Thread(target=feed, args=(RecordingChannel.CALLER, caller, 0)),
        threading.Thread(target=feed, args=(RecordingChannel.AGENT, agent, 0.3)),
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    result = sink.finish_recording(RecordingArtifact(call_id="a6@gw"))
    assert result.object_key.endswith("/taps.wav")
    rec = Recording.objects.get(call_id="a6@gw", format="taps")
    assert rec.wav_status == WavStatus.READY and rec.wav_key == rec.storage_key
    channels, width, rate, frames = read_wav(get_object(weed, rec.storage_key))
    assert (channels, width, rate) == (2, 2, 8000)
    left, right = frames[:, 0], frames[:, 1]
    assert np.array_equal(left[left != 0], caller)
    assert np.array_equal(right[right != 0], agent)
    # One time origin: the agent's first sample sits ~0.3 s after the caller's.
    offset = (np.flatnonzero(right)[0] - np.flatnonzero(left)[0]) / 8000
    assert 0.25 < offset < 0.45, offset
    assert rec.duration_ms == round(len(frames) / 8)
    sink.append_pcm("a6@gw", RecordingChannel.CALLER, b"\1\0" * 160)  # late tap after hangup: ignored


def test_tenant_policy_off_records_nothing(weed, s3_storage, make_sink):
    from cdr.services import recording_policy_set

    recording_policy_set(tenant_id=9, enabled=False)
    sink = make_sink()
    assert sink.begin_recording(meta("a7@gw", tenant_id=9), 8000, "pcmu") is False
    sink.append_pcm("a7@gw", RecordingChannel.CALLER, b"\1\0" * 160)
    result = sink.finish_recording(artifact("a7@gw", conversation(seed=9).blob))
    assert result.object_key == ""
    assert not Recording.objects.filter(call_id="a7@gw").exists()
    assert sink.begin_recording(meta("a7b@gw", tenant_id=10), 8000, "pcmu") is True


def test_an_undecodable_blob_keeps_its_original_and_says_why_there_is_no_wav(weed, s3_storage, make_sink):
    sink = make_sink()
    blob = b"SN3" + b"\x07" * 40  # a frame header claiming more payload than there is
    result = sink.finish_recording(artifact("a8@gw", blob))
    rec = Recording.objects.get(call_id="a8@gw")
    assert get_object(weed, result.object_key) == blob
    assert rec.wav_status == WavStatus.FAILED and rec.wav_key == ""
    assert rec.wav_error
    # An unknown codec is a reason too, not a crash.
    other = sink.finish_recording(artifact("a9@gw", conversation(seed=10).blob, codec="speex"))
    rec2 = Recording.objects.get(call_id="a9@gw")
    assert rec2.wav_status == WavStatus.FAILED and "speex" in rec2.wav_error
    assert get_object(weed, other.object_key)


def test_a_recording_that_arrives_before_its_call_is_linked_later(weed, s3_storage, make_sink):
    from cdr import services
    from tests.support.factories import bye, call, event

    sink = make_sink()
    result = sink.finish_recording(artifact("b1@gw", conversation(seed=11).blob))
    rec = Recording.objects.get(call_id="b1@gw")
    assert rec.call_leg_id is None and rec.tenant_id == 0  # no begin, no call row yet
    assert result.object_key.startswith("recordings/0/")
    m = call("b1@gw", tenant_id=7)
    services.events_ingest(events=[event("established", 0, m), bye(5, 5, m)])
    services.recordings_attach_calls()
    rec.refresh_from_db()
    assert rec.call_leg is not None and rec.call_leg.call_id == "b1@gw" and rec.tenant_id == 7


def test_the_upload_task_records_an_object_another_host_put_without_that_hosts_spool(
    weed, s3_storage, recordings_conf, tmp_path
):
    """A worker whose spool never saw the entry finishes it from the message's meta, once."""
    import hashlib

    from cdr.services.recordings import recording_key, recording_spooled_put, recording_upload_spooled, spool_name
    from cdr.storage.spool import RecordingSpool
    from cdr.tasks.recordings import recording_upload
    from tests.support.recordings import T0

    blob = conversation(seed=12).blob
    sha = hashlib.sha256(blob).hexdigest()
    key = recording_key(tenant_id=7, call_id="c1@gw", day=T0, sha256=sha, fmt="sn3")
    m = {"call_id": "c1@gw", "tenant_id": 7, "format": "sn3", "codec": "pcmu", "sample_rate": 8000}
    m |= {"channels": 1, "bytes": len(blob), "sha256": sha, "key": key}
    name = spool_name(call_id="c1@gw", sha256=sha)
    other_host = RecordingSpool(tmp_path / "host-a")  # not this worker's SPOOL_DIR
    other_host.put(name, meta=m, data=blob)
    assert name not in RecordingSpool(recordings_conf["SPOOL_DIR"])

    # Before the spooling host put the bytes in storage there is nothing a worker can do.
    assert recording_upload.apply(args=[name, m]).get() is None
    assert not Recording.objects.filter(call_id="c1@gw").exists()

    assert recording_spooled_put(name=name, spool_dir=other_host.path) == m  # the host's upload, no row yet
    pk = recording_upload.apply(args=[name, m]).get()
    rec = Recording.objects.get(pk=pk)
    assert (rec.storage_key, rec.tenant_id, rec.bytes) == (key, 7, len(blob))
    assert rec.wav_status == WavStatus.READY and get_object(weed, rec.wav_key)
    # Redelivered: a no-op. The spooling host's own retry later: the same row, once.
    assert recording_upload.apply(args=[name, m]).get() == pk
    assert recording_upload_spooled(name=name, spool_dir=other_host.path) == rec
    assert other_host.names() == [] and Recording.objects.filter(call_id="c1@gw").count() == 1
    assert recording_upload.apply(args=[name, m]).get() == pk


@pytest.mark.parametrize(
    "meta, reason",
    [
        ({"call_id": "c2@gw"}, "without tenant_id"),
        ({"key": "secret_key", "call_id": "c2@gw", "tenant_id": 1, "format": "sn3", "codec": "", "sample_rate": 0,
          "channels": 0, "bytes": 1, "sha256": "0" * 64}, "outside recordings/"),
    ],
)  # fmt: skip
def test_the_upload_task_refuses_a_message_that_names_no_recording(s3_storage, meta, reason):
    from cdr.tasks.recordings import recording_upload

    with pytest.raises(ValueError, match=reason):
        recording_upload.apply(args=["x", meta]).get()
