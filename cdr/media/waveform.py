"""Waveform of a call recording: per-column min/max peaks streamed from a WAV, drawn as SVG.

Nothing here imports Django. ``waveform_peaks`` reads a 16-bit PCM WAV block by block (memory
bounded by the block size, whatever the recording's length) and keeps, for each of ``columns``
equal slices of the recording, the lowest and highest sample of every channel. ``waveform_svg``
draws them as stacked lanes, caller (channel 0) on top and agent (channel 1) below: a
self-contained SVG with no script, no link and no external resource.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from html import escape
from typing import BinaryIO

import numpy as np
from numpy.typing import NDArray

COLUMNS = 600
BLOCK_FRAMES = 1 << 16  # frames read at once: 256 KiB of stereo PCM16
LANE_LABELS = ("Caller", "Agent")
# Lanes are scaled to the loudest peak of the recording, but never beyond this (-30 dBFS): a
# silent or near-silent recording is drawn flat, not as amplified noise.
MIN_SCALE = 1024


class WaveformError(ValueError):
    """The file is not a WAV this module can draw (not RIFF/WAVE, not 16-bit PCM, truncated)."""


@dataclass(frozen=True, slots=True)
class Peaks:
    """Per-channel extremes of each column; a column no frame falls in holds 0 / 0."""

    sample_rate: int
    n_frames: int
    mins: NDArray[np.int16]  # (channels, columns)
    maxs: NDArray[np.int16]  # (channels, columns)

    @property
    def channels(self) -> int:
        return int(self.mins.shape[0])

    @property
    def columns(self) -> int:
        return int(self.mins.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_frames / self.sample_rate if self.sample_rate else 0.0


def column_of(frame: int, n_frames: int, columns: int) -> int:
    """The column frame ``frame`` of ``n_frames`` falls in (the mapping ``waveform_peaks`` uses)."""
    return frame * columns // n_frames


def waveform_peaks(f: BinaryIO, columns: int = COLUMNS, *, block_frames: int = BLOCK_FRAMES) -> Peaks:
    """Min/max of every channel over ``columns`` equal slices of the WAV read from ``f``.

    Frame ``i`` of ``n`` belongs to column ``i * columns // n``. ``f`` is read sequentially and
    is not closed. Raises WaveformError for anything but 16-bit PCM.
    """
    if columns < 1 or block_frames < 1:
        raise ValueError("columns and block_frames must be >= 1")
    try:
        reader = wave.open(f, "rb")
    except (wave.Error, EOFError) as exc:
        raise WaveformError(f"not a readable WAV: {exc}") from exc
    with reader:
        channels, width, rate = reader.getnchannels(), reader.getsampwidth(), reader.getframerate()
        if width != 2:
            raise WaveformError(f"only 16-bit PCM is drawn, this WAV has {8 * width}-bit samples")
        if channels < 1:
            raise WaveformError("the WAV declares no channel")
        n_frames = reader.getnframes()
        mins = np.zeros((channels, columns), dtype=np.int16)
        maxs = np.zeros((channels, columns), dtype=np.int16)
        seen = np.zeros(columns, dtype=bool)
        pos = 0
        while pos < n_frames:
            try:
                raw = reader.readframes(min(block_frames, n_frames - pos))
            except (wave.Error, EOFError) as exc:
                raise WaveformError(f"WAV data unreadable at frame {pos}: {exc}") from exc
            k = len(raw) // (2 * channels)
            if k == 0:  # truncated: the header promised more than the file holds
                break
            block = np.frombuffer(raw, dtype="<i2", count=k * channels).reshape(k, channels)
            cols = np.arange(pos, pos + k, dtype=np.int64) * columns // n_frames
            # Columns are non-decreasing within the block: one reduceat per run of equal columns.
            starts = np.flatnonzero(np.concatenate(([True], cols[1:] != cols[:-1])))
            ucols = cols[starts]
            bmin = np.minimum.reduceat(block, starts, axis=0).T
            bmax = np.maximum.reduceat(block, starts, axis=0).T
            # A column split across two blocks merges with what the previous block found.
            fresh = ~seen[ucols]
            mins[:, ucols] = np.where(fresh, bmin, np.minimum(mins[:, ucols], bmin))
            maxs[:, ucols] = np.where(fresh, bmax, np.maximum(maxs[:, ucols], bmax))
            seen[ucols] = True
            pos += k
    # The header's length, not what was read: a truncated file keeps its time axis (silent tail).
    return Peaks(sample_rate=rate, n_frames=n_frames, mins=mins, maxs=maxs)


def _clock(seconds: float) -> str:
    whole = round(seconds)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _lane_path(mins: NDArray[np.int16], maxs: NDArray[np.int16], mid: float, half: float, scale: float) -> str:
    """One vertical stroke per column that holds sound; silent columns draw nothing."""
    loud = np.flatnonzero((mins != 0) | (maxs != 0))
    if loud.size == 0:
        return ""
    top = mid - maxs[loud].astype(np.float64) / scale * half
    bottom = mid - mins[loud].astype(np.float64) / scale * half
    # At least half a pixel, so a faint column still shows.
    bottom = np.maximum(bottom, top + 0.5)
    x = loud.astype(np.float64) + 0.5
    return "".join(
        f"M{a:.1f} {b:.1f}V{c:.1f}" for a, b, c in zip(x.tolist(), top.tolist(), bottom.tolist(), strict=True)
    )


def waveform_svg(peaks: Peaks, *, lane_height: int = 64, gap: int = 6, title: str = "Recording waveform") -> str:
    """An SVG of the peaks: one lane per channel (Caller, Agent, then "Channel n"), one px per column.

    All lanes share one scale (the loudest peak, at least MIN_SCALE) so their loudness compares.
    """
    width = peaks.columns
    height = peaks.channels * lane_height + (peaks.channels - 1) * gap
    loudest = max(int(np.abs(peaks.mins.astype(np.int32)).max(initial=0)), int(peaks.maxs.max(initial=0)))
    scale = float(max(loudest, MIN_SCALE))
    half = lane_height / 2 - 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" preserveAspectRatio="none" role="img" '
        f'data-columns="{width}" data-duration-s="{peaks.duration_s:.3f}">',
        f"<title>{escape(title)}</title>",
    ]
    for channel in range(peaks.channels):
        label = LANE_LABELS[channel] if channel < len(LANE_LABELS) else f"Channel {channel}"
        y0 = channel * (lane_height + gap)
        mid = y0 + lane_height / 2
        path = _lane_path(peaks.mins[channel], peaks.maxs[channel], mid, half, scale)
        parts += [
            f'<g class="lane" data-channel="{channel}" data-label="{escape(label.lower())}">',
            f'<rect x="0" y="{y0}" width="{width}" height="{lane_height}" fill="#f4f6f8"/>',
            f'<line x1="0" y1="{mid:.1f}" x2="{width}" y2="{mid:.1f}" stroke="#c9d1d9" stroke-width="1"/>',
            f'<path d="{path}" stroke="{"#2f6fad" if channel == 0 else "#b5562b"}" stroke-width="1" fill="none"/>',
            f'<text x="4" y="{y0 + 12}" font-family="sans-serif" font-size="11" fill="#333" '
            f'stroke="#f4f6f8" stroke-width="3" paint-order="stroke">{escape(label)}</text>',
            "</g>",
        ]
    parts += [
        f'<text x="{width - 4}" y="{height - 4}" text-anchor="end" font-family="sans-serif" font-size="10" '
        f'fill="#333" stroke="#f4f6f8" stroke-width="3" paint-order="stroke">{_clock(peaks.duration_s)}</text>',
        "</svg>",
    ]
    return "\n".join(parts) + "\n"
