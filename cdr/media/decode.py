"""Top-level decoding: blob -> placed, decoded legs -> streamed stereo WAV."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
from numpy.typing import NDArray

from cdr.media.codecs import CodecSpec, get_codec, non_audio_mask
from cdr.media.errors import CorruptTimelineError, EmptyRecordingError, RecordingFormatError
from cdr.media.frames import FrameTable, parse_blob
from cdr.media.g711 import ALAW_TABLE, ULAW_TABLE
from cdr.media.placement import Placement, place_leg
from cdr.media.render import LegAudio, render
from cdr.media.wav import WavWriter

SNAP_MIN_MS = 10
SNAP_MAX_MS = 500
DEFAULT_MAX_DURATION_S = 12 * 3600
MAX_PLC_PACKETS = 10


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

        return np.array([packet_samples(table.payload(int(i))) for i in idx], dtype=np.int64)
    if spec.name == "g722":
        return table.length[idx] * 2
    return table.length[idx].copy()


def _decode_stateful(
    spec: CodecSpec, table: FrameTable, idx: NDArray[np.int64], place: Placement
) -> tuple[LegAudio, int]:
    """Decode a G.722/Opus leg in media order with a fresh decoder; returns audio and PLC count."""
    from cdr.media.g722 import G722Decoder
    from cdr.media.opus import OpusDecoder

    dec_g722 = G722Decoder() if spec.name == "g722" else None
    dec_opus = OpusDecoder() if spec.name == "opus" else None
    chunks: list[NDArray[np.int16]] = []
    pos_out: list[int] = []
    concealed = 0
    prev_seq: int | None = None
    prev_spurt = -1
    prev_end = 0
    prev_len = 960
    for k, frame in enumerate(place.order.tolist()):
        payload = table.payload(int(idx[frame]))
        seq = int(place.ext_seq[k])
        spurt = int(place.spurt[k])
        pos = int(place.pos[k])
        if dec_opus is not None:
            if prev_seq is not None and spurt == prev_spurt and 1 < seq - prev_seq <= MAX_PLC_PACKETS + 1:
                for _ in range(seq - prev_seq - 1):
                    if prev_end + prev_len > pos:
                        break
                    pcm = dec_opus.decode(None, prev_len)
                    chunks.append(pcm)
                    pos_out.append(prev_end)
                    prev_end += pcm.size
                    concealed += 1
            pcm = dec_opus.decode(payload)
        else:
            assert dec_g722 is not None
            pcm = dec_g722.decode(payload)
        chunks.append(pcm)
        pos_out.append(pos)
        prev_seq, prev_spurt, prev_end = seq, spurt, pos + pcm.size
        if pcm.size:
            prev_len = pcm.size
    counts = np.array([c.size for c in chunks], dtype=np.int64)
    source = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
    src = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if chunks else counts
    return LegAudio(pos=np.array(pos_out, dtype=np.int64), count=counts, src=src, source=source, lut=None), concealed


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
    wall_all: NDArray[np.float64] | None = None
    limit = max_duration_s * rate
    if table.wall_ns is not None:
        wall = table.wall_ns[audio]
        origin = wall.min()
        wall_all = (table.wall_ns.astype(np.float64) - float(origin)) * (rate / 1e9)
        if float(wall_all[audio].max()) > limit:
            hours = max_duration_s / 3600
            raise CorruptTimelineError(f"wall clock spans more than {hours:g} h; recording looks corrupt")
    elif table.format == "sn2":
        warnings.append("SN2 recording has no wall clock: each leg starts at its first frame")

    legs: list[LegAudio | None] = []
    duplicates = concealed = undecodable = 0
    lut = ULAW_TABLE if spec.name == "pcmu" else ALAW_TABLE
    for channel in (0, 1):
        idx = np.flatnonzero(audio & (table.direction == channel)).astype(np.int64)
        if idx.size == 0:
            legs.append(None)
            continue
        counts = _counts(spec, table, idx)
        bad = counts == 0
        if bad.any():
            undecodable += int(bad.sum())
            idx, counts = idx[~bad], counts[~bad]
            if idx.size == 0:
                legs.append(None)
                continue
        place = place_leg(
            counts,
            None if table.seq is None else table.seq[idx],
            None if table.rtp_ts is None else table.rtp_ts[idx],
            None if wall_all is None else wall_all[idx],
            clock_rate=spec.clock_rate,
            audio_per_tick=spec.audio_per_tick,
            snap_samples=snap_ms * rate // 1000,
        )
        duplicates += idx.size - place.order.size
        if place.order.size and int((place.pos + counts[place.order]).max()) > limit:
            raise CorruptTimelineError(
                f"RTP timestamps span more than {max_duration_s / 3600:g} h; recording looks corrupt"
            )
        if spec.name in ("pcmu", "pcma"):
            chosen = idx[place.order]
            count, src = table.length[chosen], table.offset[chosen]
            legs.append(LegAudio(pos=place.pos, count=count, src=src, source=table.blob, lut=lut))
        else:
            leg, plc = _decode_stateful(spec, table, idx, place)
            concealed += plc
            legs.append(leg)
    total = max((int((leg.pos + leg.count).max()) for leg in legs if leg is not None and leg.pos.size), default=0)
    with WavWriter(out, rate, channels=2, n_frames=total) as writer:
        render(legs, total, writer)
    n_dtmf = int(np.count_nonzero(dtmf & valid_dir))
    n_cn = int(np.count_nonzero(cn & valid_dir & ~dtmf))
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
