"""Parsing of SN3 / SN2 / SN1 / raw G.711 blobs into a columnar frame table (numpy), and which of
its frames are not audio."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from cdr.media.codecs import DTMF_BYTES, MAX_CN_BYTES, CodecSpec
from cdr.media.errors import EmptyRecordingError, RecordingFormatError

# header size and offset of the u16 payload length, per format
_LAYOUTS: dict[bytes, tuple[str, int, int]] = {
    b"SN3": ("sn3", 17, 15),
    b"SN2": ("sn2", 9, 7),
    b"SN1": ("sn1", 3, 1),
}
_FOREIGN_MAGICS: tuple[tuple[bytes, str], ...] = (
    (b"RIFF", "a RIFF/WAV file"),
    (b"OggS", "an Ogg file"),
    (b"ID3", "an MP3 file"),
    (b"fLaC", "a FLAC file"),
    (b"\x1f\x8b", "a gzip file"),
    (b"PK\x03\x04", "a zip file"),
    (b"%PDF", "a PDF file"),
    (b"\x89PNG", "a PNG file"),
)
RAW_FRAME_BYTES = 160
_RUN_PROBE = 4096


@dataclass(frozen=True, slots=True)
class FrameTable:
    """Frames of a blob in capture order; ``seq``/``rtp_ts``/``wall_ns`` are None when absent."""

    format: str
    blob: NDArray[np.uint8]
    direction: NDArray[np.uint8]
    offset: NDArray[np.int64]
    length: NDArray[np.int64]
    seq: NDArray[np.uint16] | None
    rtp_ts: NDArray[np.uint32] | None
    wall_ns: NDArray[np.uint64] | None
    trailing_bytes: int

    @property
    def count(self) -> int:
        return int(self.offset.size)

    def payload(self, index: int) -> bytes:
        start = int(self.offset[index])
        return self.blob[start : start + int(self.length[index])].tobytes()


def _u16(buf: NDArray[np.uint8], pos: NDArray[np.int64]) -> NDArray[np.int64]:
    return _field(buf, pos, 2).astype(np.int64)


def _walk(buf: NDArray[np.uint8], start: int, header: int, len_at: int) -> tuple[NDArray[np.int64], int]:
    """Offsets of every whole frame, plus the number of trailing bytes left over.

    Runs of equal-length frames (the normal case) are validated with numpy in blocks;
    irregular frames (DTMF, comfort noise) fall back to one step per frame.
    """
    size = int(buf.size)
    chunks: list[NDArray[np.int64]] = []
    singles: list[int] = []
    pos = start
    while pos + header <= size:
        length = int(buf[pos + len_at]) | (int(buf[pos + len_at + 1]) << 8)
        stride = header + length
        fit = (size - pos) // stride
        if fit == 0:
            break
        if fit >= 8:
            cand = pos + stride * np.arange(min(fit, _RUN_PROBE), dtype=np.int64)
            bad = np.flatnonzero(_u16(buf, cand + len_at) != length)
            run = int(bad[0]) if bad.size else int(cand.size)
            if singles:
                chunks.append(np.asarray(singles, dtype=np.int64))
                singles = []
            # a copy: a view would keep the whole probe alive for a run of one or two frames
            chunks.append(cand[:run].copy() if run < cand.size else cand)
            pos += stride * run
        else:
            singles.append(pos)
            pos += stride
    if singles:
        chunks.append(np.asarray(singles, dtype=np.int64))
    offsets = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)
    return offsets, size - pos


def _field(buf: NDArray[np.uint8], pos: NDArray[np.int64], width: int) -> NDArray[np.unsignedinteger[Any]]:
    """The little-endian unsigned integer of ``width`` bytes at each of ``pos`` (a view: convert it
    with ``astype``). The bytes are gathered a row per frame and read in place as integers."""
    rows = sliding_window_view(buf, width)[pos]
    return rows.view(f"<u{width}").reshape(-1)


def _check_foreign(head: bytes) -> None:
    for magic, name in _FOREIGN_MAGICS:
        if head.startswith(magic):
            raise RecordingFormatError(f"input looks like {name}, not a recording")
    if len(head) >= 3 and head[:2] == b"SN" and head[2:3] in b"0456789":
        raise RecordingFormatError(f"unsupported recording format {head[:3].decode('ascii')}")


def parse_blob(blob: bytes | bytearray | memoryview, *, raw_frame_bytes: int = RAW_FRAME_BYTES) -> FrameTable:
    """Split a recording blob into frames. Never reads past the end; never loops forever.

    Raises EmptyRecordingError for an empty blob or one without a single whole frame,
    RecordingFormatError for inputs that are recognisably something else.
    """
    buf = np.frombuffer(blob, dtype=np.uint8)
    if buf.size == 0:
        raise EmptyRecordingError("recording is empty (0 bytes)")
    head = bytes(buf[:4])
    _check_foreign(head)
    layout = _LAYOUTS.get(head[:3])
    if layout is None:
        offsets = np.arange(0, buf.size, raw_frame_bytes, dtype=np.int64)
        lengths = np.minimum(raw_frame_bytes, buf.size - offsets)
        return FrameTable(
            format="raw",
            blob=buf,
            direction=np.zeros(offsets.size, dtype=np.uint8),
            offset=offsets,
            length=lengths,
            seq=None,
            rtp_ts=None,
            wall_ns=None,
            trailing_bytes=0,
        )
    name, header, len_at = layout
    starts, trailing = _walk(buf, 3, header, len_at)
    if starts.size == 0:
        raise EmptyRecordingError(f"{name.upper()} recording holds no whole frame ({buf.size} bytes)")
    lengths = _u16(buf, starts + len_at)
    seq = rtp_ts = wall = None
    if name in ("sn3", "sn2"):
        seq = _field(buf, starts + 1, 2).astype(np.uint16)
        rtp_ts = _field(buf, starts + 3, 4).astype(np.uint32)
    if name == "sn3":
        wall = _field(buf, starts + 7, 8).astype(np.uint64)
    return FrameTable(
        format=name,
        blob=buf,
        direction=buf[starts],
        offset=starts + header,
        length=lengths,
        seq=seq,
        rtp_ts=rtp_ts,
        wall_ns=wall,
        trailing_bytes=trailing,
    )


def non_audio_mask(
    spec: CodecSpec, blob: NDArray[np.uint8], offset: NDArray[np.int64], length: NDArray[np.int64]
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """(dtmf, comfort_noise) masks of payloads that must not be decoded as audio.

    G.711/G.722: any 4-byte payload is DTMF, 1..3-byte payloads are comfort noise, empty
    payloads are dropped as CN too. Opus: a 4-byte payload is DTMF only if it looks like an
    RFC 4733 event (event code <= 16 and reserved bit clear); empty payloads count as CN.
    """
    empty = length == 0
    if spec.name != "opus":
        return length == DTMF_BYTES, empty | ((length >= 1) & (length <= MAX_CN_BYTES))
    four = length == DTMF_BYTES
    safe = np.where(four, offset, 0)
    first = blob[np.minimum(safe, blob.size - 1)] if blob.size else np.zeros(offset.size, np.uint8)
    second = blob[np.minimum(safe + 1, blob.size - 1)] if blob.size else first
    dtmf = four & (first <= 16) & ((second & 0x40) == 0)
    return dtmf, empty
