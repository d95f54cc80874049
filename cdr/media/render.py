"""Windowed rendering of placed legs into interleaved stereo int16 (bounded memory)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from cdr.media.wav import WavWriter

WINDOW = 1 << 16  # output frames rendered at once: about 1.5 MiB of buffers and indices


@dataclass(frozen=True, slots=True)
class LegAudio:
    """Frames of one leg: output position, sample count, start in ``source``.

    ``source`` holds int16 PCM, or codes mapped through ``lut`` (G.711 bytes of the blob).
    """

    pos: NDArray[np.int64]
    count: NDArray[np.int64]
    src: NDArray[np.int64]
    source: NDArray[np.int16] | NDArray[np.uint8]
    lut: NDArray[np.int16] | None


def _sorted(leg: LegAudio) -> LegAudio:
    if leg.pos.size < 2 or bool(np.all(leg.pos[1:] >= leg.pos[:-1])):
        return leg
    order = np.argsort(leg.pos, kind="stable")
    return LegAudio(pos=leg.pos[order], count=leg.count[order], src=leg.src[order], source=leg.source, lut=leg.lut)


def _scatter(
    buf: NDArray[np.int16],
    channel: int,
    leg: LegAudio,
    p: NDArray[np.int64],
    c: NDArray[np.int64],
    s: NDArray[np.int64],
) -> None:
    """Copy frames (positions ``p`` relative to the window) into ``buf``, clipping at its edges."""
    width = buf.shape[0]
    total = int(c.sum())
    within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(c) - c, c)
    dest = np.repeat(p, c) + within
    srcidx = np.repeat(s, c) + within
    keep = (dest >= 0) & (dest < width)
    vals = leg.source[srcidx[keep]]
    buf[dest[keep], channel] = leg.lut[vals] if leg.lut is not None else vals


class _Rows:
    """Sliding views of one leg's source and of one channel of the window buffer, a frame of
    ``width`` samples per row, made once per frame size rather than once per window."""

    def __init__(self, source: NDArray[np.int16] | NDArray[np.uint8], column: NDArray[np.int16]) -> None:
        self._source = source
        self._column = column
        self._views: dict[int, tuple[NDArray[Any], NDArray[np.int16]]] = {}

    def get(self, width: int) -> tuple[NDArray[Any], NDArray[np.int16]]:
        views = self._views.get(width)
        if views is None:
            views = (sliding_window_view(self._source, width), sliding_window_view(self._column, width, writeable=True))
            self._views[width] = views
        return views


def _paint(buf: NDArray[np.int16], channel: int, leg: LegAudio, rows: _Rows, lo: int, hi: int, w0: int) -> None:
    p = leg.pos[lo:hi] - w0
    c = leg.count[lo:hi]
    s = leg.src[lo:hi]
    if int(c.min()) != int(c.max()):
        _scatter(buf, channel, leg, p, c, s)
        return
    inside = (p >= 0) & (p + c <= buf.shape[0])
    if not inside.all():
        _scatter(buf, channel, leg, p[~inside], c[~inside], s[~inside])
        p, s = p[inside], s[inside]
    width = int(c[0])
    if p.size and width:
        # Frames of one size are copied row by row (no index array per sample).
        source_rows, dest_rows = rows.get(width)
        frames = source_rows[s]
        dest_rows[p] = leg.lut.take(frames) if leg.lut is not None else frames


def render(legs: Sequence[LegAudio | None], total: int, writer: WavWriter, window: int = WINDOW) -> None:
    """Write ``total`` stereo frames; channel i comes from ``legs[i]`` (None = silence)."""
    ready = [None if leg is None or leg.pos.size == 0 else _sorted(leg) for leg in legs]
    longest = [0 if leg is None else int(leg.count.max()) for leg in ready]
    buf = np.zeros((min(window, max(total, 1)), len(legs)), dtype=np.int16)
    rows = [None if leg is None else _Rows(leg.source, buf[:, channel]) for channel, leg in enumerate(ready)]
    for w0 in range(0, total, window):
        w1 = min(total, w0 + window)
        view = buf[: w1 - w0]
        view.fill(0)
        for channel, (leg, leg_rows) in enumerate(zip(ready, rows, strict=True)):
            if leg is None or leg_rows is None:
                continue
            lo = int(np.searchsorted(leg.pos, w0 - longest[channel], side="left"))
            hi = int(np.searchsorted(leg.pos, w1, side="left"))
            if lo < hi:
                _paint(view, channel, leg, leg_rows, lo, hi, w0)
        writer.write(view)
