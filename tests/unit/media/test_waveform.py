"""Waveform peaks and SVG from WAVs of known samples: the tone lands in the columns it was put in."""

from __future__ import annotations

import io
import re
import tracemalloc
import wave
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from numpy.typing import NDArray

from cdr.media.wav import WavWriter
from cdr.media.waveform import Peaks, WaveformError, column_of, waveform_peaks, waveform_svg

RATE = 8000
SVG = "{http://www.w3.org/2000/svg}"


def wav(frames: NDArray[np.int16], rate: int = RATE) -> io.BytesIO:
    out = io.BytesIO()
    with WavWriter(out, rate, channels=frames.shape[1]) as writer:
        if len(frames):  # WavWriter.write cannot take an empty array (memoryview cast)
            writer.write(frames)
    out.seek(0)
    return out


def tone_call(seconds: float = 10.0, tone_at: tuple[float, float] = (4.0, 5.0), amp: int = 12000) -> NDArray[np.int16]:
    """Caller silent throughout; the agent plays a 440 Hz tone between ``tone_at`` seconds only."""
    n = round(seconds * RATE)
    frames = np.zeros((n, 2), dtype=np.int16)
    a, b = round(tone_at[0] * RATE), round(tone_at[1] * RATE)
    t = np.arange(b - a) / RATE
    frames[a:b, 1] = np.round(amp * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    return frames


def loud_columns(peaks: Peaks, channel: int) -> NDArray[np.intp]:
    return np.flatnonzero((peaks.mins[channel] != 0) | (peaks.maxs[channel] != 0))


@pytest.mark.parametrize("block_frames", [1, 157, 1 << 16])  # the result cannot depend on the block size
def test_tone_lands_in_its_columns_and_silence_stays_flat(block_frames: int) -> None:
    frames = tone_call()
    n = len(frames)
    peaks = waveform_peaks(wav(frames), 100, block_frames=block_frames)
    assert (peaks.sample_rate, peaks.n_frames, peaks.channels, peaks.columns) == (RATE, n, 2, 100)
    assert peaks.duration_s == 10.0
    # Caller: silence everywhere.
    assert not peaks.mins[0].any() and not peaks.maxs[0].any()
    # Agent: the tone spans 4.0 s .. 5.0 s of 10 s, so exactly columns 40..49 of 100.
    a, b = 4 * RATE, 5 * RATE
    expected = np.arange(column_of(a, n, 100), column_of(b - 1, n, 100) + 1)
    assert expected.tolist() == list(range(40, 50))
    assert loud_columns(peaks, 1).tolist() == expected.tolist()
    # Each column holds the exact extremes of its frames.
    for col in expected:
        lo, hi = col * n // 100, (col + 1) * n // 100
        assert peaks.mins[1, col] == frames[lo:hi, 1].min() and peaks.maxs[1, col] == frames[lo:hi, 1].max()
    assert peaks.maxs[1].max() == 12000 and peaks.mins[1].min() == -12000


def test_brute_force_agrees_on_random_audio_with_uneven_columns() -> None:
    rng = np.random.default_rng(7)
    frames = rng.integers(-32768, 32767, size=(12_345, 2), endpoint=True).astype(np.int16)
    peaks = waveform_peaks(wav(frames), 97, block_frames=1000)
    cols = np.arange(len(frames)) * 97 // len(frames)
    for col in range(97):
        part = frames[cols == col]
        assert peaks.mins[:, col].tolist() == part.min(axis=0).tolist()
        assert peaks.maxs[:, col].tolist() == part.max(axis=0).tolist()


def test_fewer_frames_than_columns_leaves_empty_columns_flat() -> None:
    frames = np.array([[100, -5], [0, 0], [-300, 7]], dtype=np.int16)
    peaks = waveform_peaks(wav(frames), 6)
    # Frame i of 3 goes to column 2 * i.
    assert peaks.mins[0].tolist() == peaks.maxs[0].tolist() == [100, 0, 0, 0, -300, 0]
    assert peaks.mins[1].tolist() == peaks.maxs[1].tolist() == [-5, 0, 0, 0, 7, 0]


def test_empty_wav_gives_flat_peaks_and_a_valid_svg() -> None:
    peaks = waveform_peaks(wav(np.zeros((0, 2), dtype=np.int16)), 50)
    assert peaks.n_frames == 0 and not peaks.mins.any() and not peaks.maxs.any()
    ET.fromstring(waveform_svg(peaks))


def test_not_16_bit_pcm_is_refused() -> None:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(1)
        w.setframerate(RATE)
        w.writeframes(b"\x80" * 200)
    out.seek(0)
    with pytest.raises(WaveformError, match="16-bit"):
        waveform_peaks(out)
    with pytest.raises(WaveformError):
        waveform_peaks(io.BytesIO(b"SN3 not a wav at all"))


class OneWay(io.RawIOBase):
    """A non-seekable stream that yields a long WAV chunk by chunk, never holding it whole."""

    def __init__(self, frames_total: int, chunk_frames: int = 4096) -> None:
        header = io.BytesIO()
        WavWriter(header, RATE, channels=2, n_frames=frames_total)  # final header up front
        self._pending = header.getvalue()
        self._left = frames_total
        self._chunk = chunk_frames
        self._rng = np.random.default_rng(3)
        self.position = 0

    def readable(self) -> bool:
        return True

    def _next_chunk(self) -> bytes:
        n = min(self._chunk, self._left)
        self._left -= n
        return self._rng.integers(-1000, 1000, size=(n, 2), dtype=np.int16).tobytes()

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if not self._pending:
            self._pending = self._next_chunk()
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        self.position += n
        return n


def test_an_hour_is_streamed_in_bounded_memory() -> None:
    frames_total = 3600 * RATE  # one hour of 8 kHz stereo: 115 MB of PCM
    stream = io.BufferedReader(OneWay(frames_total))
    tracemalloc.start()
    try:
        peaks = waveform_peaks(stream, 600)
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peaks.n_frames == frames_total and peaks.duration_s == 3600
    assert loud_columns(peaks, 0).size == 600 and loud_columns(peaks, 1).size == 600
    assert peak_bytes < 8 * 1024 * 1024, peak_bytes  # a few blocks, never the 115 MB file


def test_svg_has_two_labelled_lanes_no_script_and_strokes_only_where_the_tone_is() -> None:
    peaks = waveform_peaks(wav(tone_call()), 600)
    svg = waveform_svg(peaks)
    root = ET.fromstring(svg)  # well-formed XML
    assert root.tag == f"{SVG}svg" and root.get("width") == "600" and root.get("data-columns") == "600"
    lanes = root.findall(f"{SVG}g")
    assert [lane.get("data-label") for lane in lanes] == ["caller", "agent"]
    assert [lane.findtext(f"{SVG}text") for lane in lanes] == ["Caller", "Agent"]
    caller_y = float(lanes[0].find(f"{SVG}rect").get("y"))  # type: ignore[union-attr, arg-type]
    agent_y = float(lanes[1].find(f"{SVG}rect").get("y"))  # type: ignore[union-attr, arg-type]
    assert caller_y < agent_y  # caller on top
    # The caller lane draws no stroke; the agent lane one per tone column (240..299 of 600).
    assert lanes[0].find(f"{SVG}path").get("d") == ""  # type: ignore[union-attr]
    d = lanes[1].find(f"{SVG}path").get("d")  # type: ignore[union-attr]
    xs = [float(x) - 0.5 for x in re.findall(r"M([\d.]+) ", d or "")]
    assert xs == [float(c) for c in range(240, 300)]
    # Self-contained: no script, no link, no external reference of any kind.
    low = svg.lower()
    for banned in ("<script", "href", "url(", "onload", "onclick", "<foreignobject", "@import", "<image"):
        assert banned not in low
    assert "0:10" in svg  # the duration


def test_svg_scale_is_shared_and_floored() -> None:
    frames = tone_call(amp=16000)
    frames[:, 0] = 20  # near-silence on the caller: drawn flat-ish, not blown up to full height
    svg = waveform_svg(waveform_peaks(wav(frames), 100), lane_height=64)
    caller = ET.fromstring(svg).findall(f"{SVG}g")[0].find(f"{SVG}path").get("d")  # type: ignore[union-attr]
    spans = [float(b) - float(a) for a, b in re.findall(r"M[\d.]+ ([\d.]+)V([\d.]+)", caller or "")]
    assert spans and max(spans) <= 1.0
