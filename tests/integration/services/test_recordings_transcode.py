"""recording_transcode on long recordings: memory stays far below the original's size, on local
files and on a real S3 server, and the WAV is still sample-exact."""

from __future__ import annotations

import hashlib
import tracemalloc

import numpy as np
import pytest
from django.core.files import File
from django.core.files.base import ContentFile

from cdr import services
from cdr.media.g711 import ULAW_TABLE
from cdr.models import WavStatus

pytestmark = pytest.mark.django_db  # not transactional: the stored row's transcode is not queued

FRAME = 160  # 20 ms of PCMU
MINUTES = 40  # two legs of 40 min: a 40.5 MiB SN3 original, a 73 MiB WAV
AGENT_LAG = 80  # the agent's frames are captured 10 ms after the caller's
_SN3 = np.dtype([("dir", "u1"), ("seq", "<u2"), ("ts", "<u4"), ("wall", "<u8"), ("len", "<u2"), ("p", "u1", FRAME)])


def codes(channel: int, start: int, stop: int) -> np.ndarray:
    """The mu-law code of each sample index of a leg: known without storing the leg."""
    return ((np.arange(start, stop, dtype=np.int64) * 37 + channel * 101) % 256).astype(np.uint8)


@pytest.fixture(scope="module")
def long_call(tmp_path_factory):
    """A two-leg PCMU SN3 file, written a minute at a time; (path, frames per leg)."""
    path = tmp_path_factory.mktemp("long") / "call.sn3"
    per_leg = MINUTES * 60 * 50
    with open(path, "wb") as f:
        f.write(b"SN3")
        for lo in range(0, per_leg, 3000):
            i = np.arange(lo, min(per_leg, lo + 3000))
            block = np.zeros(2 * i.size, dtype=_SN3)
            for channel in (0, 1):
                rows = block[channel::2]
                rows["dir"] = channel
                rows["seq"] = (i + 40_000 * channel) & 0xFFFF
                rows["ts"] = i * FRAME + 7 * channel
                rows["wall"] = i * 20_000_000 + 10_000_000 * channel
                rows["len"] = FRAME
                rows["p"] = codes(channel, i[0] * FRAME, (i[-1] + 1) * FRAME).reshape(-1, FRAME)
            f.write(block.tobytes())
    return path, per_leg


def store(storage, path, *, fmt="sn3", codec="pcmu", sample_rate=8000, channels=1):
    """Save a file through the storage and record it; its transcode is left to the test."""
    with open(path, "rb") as f:
        sha = hashlib.file_digest(f, "sha256").hexdigest()
        key = f"recordings/7/long/{sha}.{fmt}"
        f.seek(0)
        storage.save(key, File(f, name=key))
    recording, _ = services.recording_store(
        tenant_id=7,
        call_id=f"long-{sha[:8]}@gw",
        fmt=fmt,
        codec=codec,
        sample_rate=sample_rate,
        channels=channels,
        size=path.stat().st_size,
        sha256=sha,
        storage_key=key,
    )
    assert recording.wav_status == WavStatus.PENDING
    return recording


def transcode_traced(recording):
    """Transcode; returns (recording, peak bytes allocated by Python and numpy meanwhile).

    tracemalloc sees every heap allocation (a bytes read, a numpy array, a download buffer) and
    none of a read-only file map's pages, which the kernel can drop and re-read at any time.
    """
    tracemalloc.start()
    try:
        done = services.recording_transcode(recording_id=recording.pk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return done, peak


def assert_wav_is_the_call(storage, key, per_leg):
    """Compare the stored WAV with the known legs, a block at a time."""
    total = per_leg * FRAME + AGENT_LAG
    block = 1 << 20
    with storage.open(key, "rb") as f:
        assert f.read(44)[40:44] == (total * 4).to_bytes(4, "little")
        for lo in range(0, total, block):
            hi = min(total, lo + block)
            got = np.frombuffer(f.read((hi - lo) * 4), dtype="<i2").reshape(-1, 2)
            want = np.zeros((hi - lo, 2), dtype=np.int16)
            caller_hi = min(hi, per_leg * FRAME)
            if lo < caller_hi:
                want[: caller_hi - lo, 0] = ULAW_TABLE[codes(0, lo, caller_hi)]
            agent_lo = max(lo, AGENT_LAG)
            want[agent_lo - lo :, 1] = ULAW_TABLE[codes(1, agent_lo - AGENT_LAG, hi - AGENT_LAG)]
            assert np.array_equal(got, want), f"WAV differs in frames {lo}..{hi}"
        assert f.read(1) == b""


def test_a_long_recording_is_transcoded_without_holding_the_original_in_memory(local_storage, long_call):
    path, per_leg = long_call
    size = path.stat().st_size
    recording = store(local_storage, path)

    done, peak = transcode_traced(recording)

    assert done.wav_status == WavStatus.READY, done.wav_error
    assert done.duration_ms == MINUTES * 60_000 + 10
    assert done.wav_bytes == 44 + (per_leg * FRAME + AGENT_LAG) * 4 == local_storage.size(done.wav_key)
    # Reading the original into memory alone would be `size` (the old transcode peaked at 2x it).
    # What is left is the decoder's frame index, ~85 bytes per 177-byte frame (0.48x here), and
    # buffers of 1 MiB or less.
    assert peak < size * 0.6, f"peak {peak / 2**20:.1f} MiB for a {size / 2**20:.1f} MiB original"
    assert_wav_is_the_call(local_storage, done.wav_key, per_leg)


def test_a_long_recording_on_s3_is_downloaded_in_chunks_and_transcoded(s3_storage, long_call):
    path, per_leg = long_call
    recording = store(s3_storage, path)
    size = path.stat().st_size

    done, peak = transcode_traced(recording)

    assert done.wav_status == WavStatus.READY, done.wav_error
    assert done.duration_ms == MINUTES * 60_000 + 10
    # The download is streamed, and the WAV (1.8x the original) is uploaded in at most 2 parts held
    # at once (boto3's default holds 10 parts of 8 MiB).
    assert peak < size * 0.8, f"peak {peak / 2**20:.1f} MiB for a {size / 2**20:.1f} MiB original"
    assert_wav_is_the_call(s3_storage, done.wav_key, per_leg)


def test_a_long_stereo_pcm_original_is_copied_in_chunks(local_storage, tmp_path):
    path = tmp_path / "taps.pcm"
    pcm = np.arange(4 << 20, dtype=np.int64).astype("<i2")  # 8 MiB: 2 Mi stereo frames
    path.write_bytes(pcm.tobytes() + b"\x01\x02")  # a torn last frame is dropped
    recording = store(local_storage, path, fmt="stereo_pcm", codec="l16", channels=2)

    done, peak = transcode_traced(recording)

    assert done.wav_status == WavStatus.READY, done.wav_error
    assert done.duration_ms == round((2 << 20) / 8000 * 1000)
    assert peak < 3 << 20
    with local_storage.open(done.wav_key, "rb") as f:
        head = f.read(44)
        assert head[:4] == b"RIFF" and head[22:24] == b"\x02\x00" and int.from_bytes(head[24:28], "little") == 8000
        assert f.read() == pcm.tobytes()


def test_raw_stereo_pcm_whose_first_samples_spell_riff_is_samples_not_a_wav(local_storage, tmp_path):
    path = tmp_path / "taps.pcm"
    pcm = b"RIFF" + bytes(range(4, 256)) * 4  # 1008 bytes: 252 stereo frames
    path.write_bytes(pcm)
    recording = store(local_storage, path, fmt="stereo_pcm", codec="l16", channels=2)

    done, _ = transcode_traced(recording)

    assert done.wav_status == WavStatus.READY, done.wav_error
    assert done.duration_ms == round(252 / 8000 * 1000)
    with local_storage.open(done.wav_key, "rb") as f:
        assert f.read(44)[:4] == b"RIFF" and f.read() == pcm


@pytest.mark.parametrize("where", ["local_storage", "s3_storage"])
def test_an_empty_original_fails_with_a_reason_and_an_empty_stereo_pcm_is_an_empty_wav(request, where):
    storage = request.getfixturevalue(where)
    storage.save("recordings/7/empty/a.sn3", ContentFile(b""))
    storage.save("recordings/7/empty/b.pcm", ContentFile(b""))
    rows = [
        services.recording_store(
            tenant_id=7,
            call_id=f"empty-{fmt}@gw",
            fmt=fmt,
            codec=codec,
            sample_rate=8000,
            channels=channels,
            size=0,
            sha256=hashlib.sha256(b"").hexdigest(),
            storage_key=key,
        )[0]
        for fmt, codec, channels, key in [
            ("sn3", "pcmu", 1, "recordings/7/empty/a.sn3"),
            ("stereo_pcm", "l16", 2, "recordings/7/empty/b.pcm"),
        ]
    ]

    sn3, stereo = (services.recording_transcode(recording_id=r.pk) for r in rows)

    assert sn3.wav_status == WavStatus.FAILED and sn3.wav_key == ""
    assert sn3.wav_error == "recording is empty (0 bytes)"
    assert stereo.wav_status == WavStatus.READY and stereo.wav_bytes == 44


def test_a_storage_without_local_paths_is_copied_in_chunks(settings, recordings_conf):
    from django.core.files.storage import storages

    from tests.support.audio import conversation, read_wav

    settings.STORAGES = {**settings.STORAGES, "recordings": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    storage = storages["recordings"]
    call = conversation(seed=4)
    storage.save("recordings/7/mem/a.sn3", ContentFile(call.blob))
    recording, _ = services.recording_store(
        tenant_id=7,
        call_id="mem@gw",
        fmt="sn3",
        codec="pcmu",
        sample_rate=8000,
        channels=1,
        size=len(call.blob),
        sha256=hashlib.sha256(call.blob).hexdigest(),
        storage_key="recordings/7/mem/a.sn3",
    )

    done = services.recording_transcode(recording_id=recording.pk)

    assert done.wav_status == WavStatus.READY, done.wav_error
    with storage.open(done.wav_key, "rb") as f:
        assert np.array_equal(read_wav(f.read())[3], call.expected)
