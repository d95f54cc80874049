"""G.722 and Opus legs: real decoders, one state per leg, fed in media order."""

from __future__ import annotations

import tempfile
import tracemalloc

import numpy as np
import pytest

from cdr.media import Frame, build_sn3, decode_to_wav
from cdr.media.g722 import G722Decoder, encode_g722
from cdr.media.opus import available, encode_opus

from .helpers import MS, decode


def tone(freq: float, seconds: float, rate: int, amp: float = 8000.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if x.size else 0.0


def test_g722_leg_matches_reference_decoder_in_media_order() -> None:
    code = encode_g722(tone(700, 0.4, 16000))
    pays = [code[i : i + 160] for i in range(0, len(code), 160)]  # 20 ms, 320 samples each
    frames = [Frame(0, 10 + i, 160 * i, 20 * MS * i, p) for i, p in enumerate(pays)]
    frames[3], frames[4] = frames[4], frames[3]
    agent = [Frame(1, 7, 0, 100 * MS, pays[0]), Frame(1, 8, 4, 102 * MS, b"\x01\x02\x03\x04")]  # DTMF dropped
    data, report, rate = decode(build_sn3(frames + agent), "g722")
    assert rate == 16000
    ref = G722Decoder()
    want = np.concatenate([ref.decode(p) for p in pays])
    assert np.array_equal(data[: want.size, 0], want)
    assert np.array_equal(data[1600:1920, 1], G722Decoder().decode(pays[0]))  # 100 ms at 16 kHz
    assert report.dtmf_frames == 1
    assert rms(data[1000:6000, 0]) > 3000  # real audio, not noise


@pytest.mark.skipif(not available(), reason="libopus not found")
def test_opus_legs_placed_with_concealment() -> None:
    caller = encode_opus(tone(440, 1.0, 48000))
    agent = encode_opus(tone(880, 0.5, 48000))
    frames = [Frame(0, i, 960 * i, 20 * MS * i, p) for i, p in enumerate(caller) if i != 20]  # one lost
    frames += [Frame(1, 100 + i, 50_000 + 960 * i, (600 + 20 * i) * MS, p) for i, p in enumerate(agent)]
    frames.append(Frame(0, 999, 0, 5 * MS, b"\x03\x0a\x00\xa0"))  # DTMF on the caller leg
    frames.sort(key=lambda f: f.wall_ns)
    data, report, rate = decode(build_sn3(frames), "opus")
    assert rate == 48000
    assert report.concealed_frames == 1 and report.dtmf_frames == 1
    left, right = data[:, 0], data[:, 1]
    assert rms(left[4800:45000]) > 2500
    assert rms(left[20 * 960 : 21 * 960]) > 500  # the lost 20 ms is concealed, not a hole
    assert rms(right[: 28800 - 960]) < 50  # agent starts at 600 ms
    assert rms(right[30000:50000]) > 2500
    assert np.abs(data).max() <= 12000  # never louder than the source (8000 peak + codec ripple)


def long_call(codec: str, seconds: float) -> bytes:
    """Two legs talking for ``seconds``, 20 ms packets, captured 10 ms apart."""
    rate = 16000 if codec == "g722" else 48000
    frames = []
    for channel in (0, 1):
        pcm = tone(300 + 400 * channel, seconds, rate)
        if codec == "g722":
            code = encode_g722(pcm)
            pays = [code[i : i + 160] for i in range(0, len(code), 160)]
        else:
            pays = encode_opus(pcm)
        ticks = 160 if codec == "g722" else 960
        frames += [Frame(channel, i, ticks * i, (20 * i + 10 * channel) * MS, p) for i, p in enumerate(pays)]
    return build_sn3(sorted(frames, key=lambda f: f.wall_ns))


@pytest.mark.parametrize(
    ("codec", "seconds"),
    [("g722", 180), pytest.param("opus", 60, marks=pytest.mark.skipif(not available(), reason="libopus not found"))],
)
def test_decoded_pcm_of_a_long_call_is_not_held_in_memory(codec: str, seconds: float) -> None:
    blob = long_call(codec, seconds)
    with tempfile.TemporaryFile() as out:
        tracemalloc.start()
        try:
            report = decode_to_wav(blob, codec, out)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        wav_bytes = out.tell()
    assert report.duration_s == pytest.approx(seconds + 0.01)
    # The decoded legs are half the WAV; kept in memory they would be all of it, twice (the
    # packets' arrays, then one array per leg). What is left is the frame index and window buffers.
    assert peak < wav_bytes // 2, f"peak {peak / 2**20:.1f} MiB for a {wav_bytes / 2**20:.1f} MiB WAV"
