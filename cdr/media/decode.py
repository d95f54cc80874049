"""Top-level decoding: blob -> placed, decoded legs -> streamed stereo WAV."""

from __future__ import annotations

import mmap
import tempfile
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
from numpy.typing import NDArray

from cdr.media.codecs import CodecSpec, get_codec
from cdr.media.errors import CorruptTimelineError, EmptyRecordingError, RecordingFormatError
from cdr.media.frames import FrameTable, non_audio_mask, parse_blob
from cdr.media.g711 import ALAW_TABLE, ULAW_TABLE
from cdr.media.placement import Placement, place_leg
from cdr.media.render import LegAudio, render
from cdr.media.wav import WavWriter

SNAP_MIN_MS = 10
SNAP_MAX_MS = 500
DEFAULT_MAX_DURATION_S = 12 * 3600
MAX_PLC_PACKETS = 10
_BLOCK = 4096  # frames whose numbers are turned into Python ints at once


@dataclass(frozen=True, slots=True)
class DecodeReport:
    format: str
    codec: str
    sample_rate: int
    frames: int  # whole frames in the blob
    audio_frames: int  # frames decoded as audio (both legs)
    dropped_frames: int  # DTMF, comfort noise, bad direction, duplicates, undecodable
    dtmf_frames: int
    comfort_noise_frames: int
    bad_direction_frames: int
    duplicate_frames: int
    concealed_frames: int
    duration_s: float
    truncated: bool
    warnings: tuple[str, ...] = field(default_factory=tuple)


def _check_snap(snap_ms: int) -> None:
    if isinstance(snap_ms, bool) or not isinstance(snap_ms, int) or not SNAP_MIN_MS <= snap_ms <= SNAP_MAX_MS:
        raise ValueError(f"snap window must be an integer between {SNAP_MIN_MS} and {SNAP_MAX_MS} ms, got {snap_ms!r}")


def _counts(spec: CodecSpec, table: FrameTable, idx: NDArray[np.int64]) -> NDArray[np.int64]:
    if spec.name == "opus":
        from cdr.media.opus import packet_samples

        blocks = (idx[lo : lo + _BLOCK].tolist() for lo in range(0, idx.size, _BLOCK))
        return np.fromiter((packet_samples(table.payload(i)) for b in blocks for i in b), np.int64, count=idx.size)
    if spec.name == "g722":
        return table.length[idx] * 2
    return table.length[idx].copy()


def _media_order(idx: NDArray[np.int64], place: Placement) -> Iterator[tuple[int, int, int, int]]:
    """(table index, extended seq, spurt, position) of each frame in media order, as Python ints
    converted a block at a time (not one list for the whole leg)."""
    for lo in range(0, place.order.size, _BLOCK):
        hi = lo + _BLOCK
        yield from zip(
            idx[place.order[lo:hi]].tolist(),
            place.ext_seq[lo:hi].tolist(),
            place.spurt[lo:hi].tolist(),
            place.pos[lo:hi].tolist(),
            strict=True,
        )


def _decode_stateful(
    spec: CodecSpec, table: FrameTable, idx: NDArray[np.int64], place: Placement
) -> tuple[LegAudio, int]:
    """Decode a G.722/Opus leg in media order with a fresh decoder; returns audio and PLC count.

    The decoded PCM (4x the payload for G.722, 10-20x for Opus) is written to an unlinked temp file
    and rendered from a read-only map of it, so memory does not grow with the length of the call.
    """
    from cdr.media.g722 import G722Decoder
    from cdr.media.opus import OpusDecoder

    dec_g722 = G722Decoder() if spec.name == "g722" else None
    dec_opus = OpusDecoder() if spec.name == "opus" else None
    pos_out = array("q")
    count_out = array("q")
    concealed = 0
    prev_seq: int | None = None
    prev_spurt = -1
    prev_end = 0
    prev_len = 960
    with tempfile.TemporaryFile(prefix="cdr-pcm-") as spill:
        for frame, seq, spurt, pos in _media_order(idx, place):
            payload = table.payload(frame)
            if dec_opus is not None:
                if prev_seq is not None and spurt == prev_spurt and 1 < seq - prev_seq <= MAX_PLC_PACKETS + 1:
                    for _ in range(seq - prev_seq - 1):
                        if prev_end + prev_len > pos:
                            break
                        pcm = dec_opus.decode(None, prev_len)
                        spill.write(pcm.tobytes())
                        pos_out.append(prev_end)
                        count_out.append(pcm.size)
                        prev_end += pcm.size
                        concealed += 1
                pcm = dec_opus.decode(payload)
            else:
                assert dec_g722 is not None
                pcm = dec_g722.decode(payload)
            spill.write(pcm.tobytes())
            pos_out.append(pos)
            count_out.append(pcm.size)
            prev_seq, prev_spurt, prev_end = seq, spurt, pos + pcm.size
            if pcm.size:
                prev_len = pcm.size
        spill.flush()
        # The map outlives the file object (POSIX keeps an unlinked, mapped file until unmapped).
        source = (
            np.frombuffer(mmap.mmap(spill.fileno(), 0, access=mmap.ACCESS_READ), dtype=np.int16)
            if spill.tell()
            else np.zeros(0, dtype=np.int16)
        )
    counts = np.frombuffer(count_out, dtype=np.int64)
    src = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if counts.size else counts
    pos_arr = np.frombuffer(pos_out, dtype=np.int64)
    return LegAudio(pos=pos_arr, count=counts, src=src, source=source, lut=None), concealed


def _leg(
    spec: CodecSpec,
    table: FrameTable,
    audio: NDArray[np.bool_],
    channel: int,
    origin: float | None,
    *,
    snap_ms: int,
    max_s: float,
) -> tuple[LegAudio | None, int, int, int]:
    """Place one leg (decoding it first for G.722/Opus): (audio, duplicates, undecodable, concealed).

    A function of its own so the placement's temporaries are freed before the other leg is placed.
    """
    idx = np.flatnonzero(audio & (table.direction == channel))
    if idx.size == 0:
        return None, 0, 0, 0
    counts = _counts(spec, table, idx)
    undecodable = 0
    bad = counts == 0
    if bad.any():
        undecodable = int(bad.sum())
        idx, counts = idx[~bad], counts[~bad]
        if idx.size == 0:
            return None, 0, undecodable, 0
    del bad
    rate = spec.sample_rate
    limit = max_s * rate
    wall: NDArray[np.float64] | None = None
    if table.wall_ns is not None and origin is not None:
        wall = table.wall_ns[idx].astype(np.float64)
        wall -= origin
        wall *= rate / 1e9
    place = place_leg(
        counts,
        None if table.seq is None else table.seq[idx],
        None if table.rtp_ts is None else table.rtp_ts[idx],
        wall,
        clock_rate=spec.clock_rate,
        audio_per_tick=spec.audio_per_tick,
        snap_samples=snap_ms * rate // 1000,
    )
    del wall
    duplicates = idx.size - place.order.size
    if place.order.size and int((place.pos + counts[place.order]).max()) > limit:
        raise CorruptTimelineError(f"RTP timestamps span more than {max_s / 3600:g} h; recording looks corrupt")
    if spec.name in ("pcmu", "pcma"):
        chosen = idx[place.order]
        lut = ULAW_TABLE if spec.name == "pcmu" else ALAW_TABLE
        leg = LegAudio(pos=place.pos, count=table.length[chosen], src=table.offset[chosen], source=table.blob, lut=lut)
        return leg, duplicates, undecodable, 0
    leg, concealed = _decode_stateful(spec, table, idx, place)
    return leg, duplicates, undecodable, concealed


def decode_to_wav(
    blob: bytes | bytearray | memoryview,
    codec: str,
    out: BinaryIO,
    *,
    snap_ms: int = 80,
    max_duration_s: float = DEFAULT_MAX_DURATION_S,
) -> DecodeReport:
    """Decode a recording blob (SN3, SN2, SN1 or raw G.711) into a 16-bit stereo WAV on ``out``.

    Channel 0 is the caller (dir 0), channel 1 the agent (dir 1), at the codec's audio rate.
    Raises ValueError for a bad snap window, UnknownCodecError, RecordingFormatError (and its
    subclasses EmptyRecordingError / CorruptTimelineError), CodecUnavailableError. Nothing is
    written to ``out`` when an exception is raised before decoding starts.
    """
    spec = get_codec(codec)
    _check_snap(snap_ms)
    table = parse_blob(blob)
    if table.format == "raw" and spec.name == "opus":
        raise RecordingFormatError("input has no SN1/SN2/SN3 magic and raw Opus cannot be framed")
    warnings: list[str] = []
    if table.trailing_bytes:
        warnings.append(
            f"recording is truncated: {table.trailing_bytes} trailing bytes after frame {table.count} ignored"
        )
    valid_dir = table.direction <= 1
    bad_dir = int(np.count_nonzero(~valid_dir))
    if table.format == "raw":
        dtmf = cn = np.zeros(table.count, dtype=np.bool_)
    else:
        dtmf, cn = non_audio_mask(spec, table.blob, table.offset, table.length)
    audio = valid_dir & ~dtmf & ~cn
    if not audio.any():
        raise EmptyRecordingError(f"recording holds no audio frame ({table.count} frames, none caller/agent audio)")

    rate = spec.sample_rate
    limit = max_duration_s * rate
    origin: float | None = None
    if table.wall_ns is not None:
        # min/max over the audio frames without a masked copy; the span is checked on the latest
        # frame alone (the conversion to output samples is monotonic).
        first = table.wall_ns.min(where=audio, initial=np.iinfo(np.uint64).max)
        latest = table.wall_ns.max(where=audio, initial=0)
        origin = float(first)
        if float((np.float64(latest) - origin) * (rate / 1e9)) > limit:
            hours = max_duration_s / 3600
            raise CorruptTimelineError(f"wall clock spans more than {hours:g} h; recording looks corrupt")
    elif table.format == "sn2":
        warnings.append("SN2 recording has no wall clock: each leg starts at its first frame")

    n_dtmf = int(np.count_nonzero(dtmf & valid_dir))
    n_cn = int(np.count_nonzero(cn & valid_dir & ~dtmf))
    del valid_dir, dtmf, cn
    legs: list[LegAudio | None] = []
    duplicates = concealed = undecodable = 0
    for channel in (0, 1):
        leg, dup, undec, plc = _leg(spec, table, audio, channel, origin, snap_ms=snap_ms, max_s=max_duration_s)
        legs.append(leg)
        duplicates, undecodable, concealed = duplicates + dup, undecodable + undec, concealed + plc
    total = max((int((leg.pos + leg.count).max()) for leg in legs if leg is not None and leg.pos.size), default=0)
    with WavWriter(out, rate, channels=2, n_frames=total) as writer:
        render(legs, total, writer)
    audio_frames = int(audio.sum()) - duplicates - undecodable
    return DecodeReport(
        format=table.format,
        codec=spec.name,
        sample_rate=rate,
        frames=table.count,
        audio_frames=audio_frames,
        dropped_frames=table.count - audio_frames,
        dtmf_frames=n_dtmf,
        comfort_noise_frames=n_cn,
        bad_direction_frames=bad_dir,
        duplicate_frames=duplicates,
        concealed_frames=concealed,
        duration_s=total / rate,
        truncated=table.trailing_bytes > 0,
        warnings=tuple(warnings),
    )
