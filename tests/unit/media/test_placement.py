"""Golden placement tests, sample-exact on PCMU: where each known frame must land."""

from __future__ import annotations

import numpy as np
import pytest

from cdr.media import Frame, build_sn1, build_sn2, build_sn3, decode_ulaw

from .helpers import MS, by_wall, decode, leg, ramp_payloads


def expect(length: int, placed: list[tuple[int, int, bytes]]) -> np.ndarray:
    out = np.zeros((length, 2), dtype=np.int16)
    for channel, pos, payload in placed:
        out[pos : pos + len(payload), channel] = decode_ulaw(payload)
    return out


def test_shared_origin_places_agent_where_it_spoke() -> None:
    caller = ramp_payloads(10, 1)
    agent = ramp_payloads(10, 2)
    frames = leg(caller, 0, seq0=100, ts0=5000) + leg(agent, 1, seq0=9, ts0=777_777, wall0_ms=1000)
    data, report, rate = decode(build_sn3(by_wall(frames)))
    assert rate == 8000
    want = expect(
        8000 + 1600,
        [(0, i * 160, p) for i, p in enumerate(caller)] + [(1, 8000 + i * 160, p) for i, p in enumerate(agent)],
    )
    assert np.array_equal(data, want)
    assert report.audio_frames == 20 and report.dropped_frames == 0 and report.duration_s == pytest.approx(1.2)


def test_reordered_packets_play_in_rtp_order() -> None:
    pays = ramp_payloads(10, 3)
    frames = leg(pays, 0)
    arrival = [*frames[:3], frames[4], frames[3], *frames[5:8], frames[9], frames[8]]
    # the late packets keep their (late) capture time: swap wall clocks too
    arrival[3] = Frame(0, 4, 640, 60 * MS, pays[4])
    arrival[4] = Frame(0, 3, 480, 81 * MS, pays[3])
    data, _, _ = decode(build_sn3(arrival))
    assert np.array_equal(data, expect(1600, [(0, i * 160, p) for i, p in enumerate(pays)]))


def test_lost_packet_leaves_silence_without_shift() -> None:
    pays = ramp_payloads(10, 4)
    frames = [f for i, f in enumerate(leg(pays, 0)) if i != 5]
    data, report, _ = decode(build_sn3(frames))
    assert np.array_equal(data, expect(1600, [(0, i * 160, p) for i, p in enumerate(pays) if i != 5]))
    assert not data[800:960].any()
    assert report.audio_frames == 9


def test_agent_pause_with_continuous_timestamps_uses_wall_clock() -> None:
    first, second = ramp_payloads(10, 5), ramp_payloads(10, 6)
    # TTS: RTP timestamps run on across the pause; only wallNs shows it (2.5 s later)
    frames = leg(first, 1, seq0=7, ts0=1000) + leg(second, 1, seq0=17, ts0=1000 + 1600, wall0_ms=2500)
    data, _, _ = decode(build_sn3(frames))
    want = expect(
        20000 + 1600,
        [(1, i * 160, p) for i, p in enumerate(first)] + [(1, 20000 + i * 160, p) for i, p in enumerate(second)],
    )
    assert np.array_equal(data, want)


@pytest.mark.parametrize(("snap_ms", "gap_closed"), [(80, True), (10, False)])
def test_short_gap_is_jitter_and_closed(snap_ms: int, gap_closed: bool) -> None:
    first, second = ramp_payloads(10, 7), ramp_payloads(10, 8)
    # second spurt is 40 ms late on the wall clock but continuous in RTP time
    frames = leg(first, 1) + leg(second, 1, seq0=10, ts0=1600, wall0_ms=200 + 40)
    data, _, _ = decode(build_sn3(frames), snap_ms=snap_ms)
    start = 1600 if gap_closed else 1600 + 320
    want = expect(
        start + 1600,
        [(1, i * 160, p) for i, p in enumerate(first)] + [(1, start + i * 160, p) for i, p in enumerate(second)],
    )
    assert np.array_equal(data, want)


def test_wall_jitter_of_a_few_ms_does_not_move_frames() -> None:
    pays = ramp_payloads(50, 9)
    rng = np.random.default_rng(0)
    frames = [
        Frame(f.direction, f.seq, f.rtp_ts, f.wall_ns + int(rng.integers(0, 6)) * MS, f.payload) for f in leg(pays, 0)
    ]
    data, _, _ = decode(build_sn3(frames))
    assert np.array_equal(data, expect(8000, [(0, i * 160, p) for i, p in enumerate(pays)]))


def test_caller_silence_suppression_is_placed_by_rtp_time() -> None:
    first, second = ramp_payloads(5, 10), ramp_payloads(5, 11)
    frames = leg(first, 0) + leg(second, 0, seq0=5, ts0=800 + 8000, wall0_ms=100 + 1000)
    data, _, _ = decode(build_sn3(frames))
    want = expect(
        8800 + 800,
        [(0, i * 160, p) for i, p in enumerate(first)] + [(0, 8800 + i * 160, p) for i, p in enumerate(second)],
    )
    assert np.array_equal(data, want)


def test_sequence_and_timestamp_wrap() -> None:
    pays = ramp_payloads(12, 12)
    frames = leg(pays, 0, seq0=65530, ts0=(1 << 32) - 480)
    frames[7], frames[8] = frames[8], frames[7]  # reordered across the wrap too
    data, _, _ = decode(build_sn3(frames))
    assert np.array_equal(data, expect(1920, [(0, i * 160, p) for i, p in enumerate(pays)]))


def test_dtmf_comfort_noise_and_bad_direction_are_dropped() -> None:
    pays = ramp_payloads(6, 13)
    frames = leg(pays, 0)
    noise = [
        Frame(0, 100, 480, 61 * MS, b"\x05\x0a\x00\xa0"),  # RFC 4733 digit 5
        Frame(0, 101, 480, 62 * MS, b"\x40"),  # comfort noise level
        Frame(2, 3, 480, 63 * MS, pays[0]),  # a direction the stack never writes
        Frame(255, 3, 480, 64 * MS, pays[1]),
    ]
    data, report, _ = decode(build_sn3(by_wall(frames + noise)))
    assert np.array_equal(data, expect(960, [(0, i * 160, p) for i, p in enumerate(pays)]))
    assert (report.dtmf_frames, report.comfort_noise_frames, report.bad_direction_frames) == (1, 1, 2)
    assert report.dropped_frames == 4


def test_duplicates_are_dropped() -> None:
    pays = ramp_payloads(4, 14)
    frames = leg(pays, 0)
    data, report, _ = decode(build_sn3([*frames, frames[2]]))
    assert np.array_equal(data, expect(640, [(0, i * 160, p) for i, p in enumerate(pays)]))
    assert report.duplicate_frames == 1


def test_transfer_new_stream_on_agent_leg() -> None:
    ai, human = ramp_payloads(5, 15), ramp_payloads(5, 16)
    frames = leg(ai, 1, seq0=40000, ts0=123) + leg(human, 1, seq0=3, ts0=4_000_000_000, wall0_ms=3000)
    data, _, _ = decode(build_sn3(frames))
    want = expect(
        24000 + 800,
        [(1, i * 160, p) for i, p in enumerate(ai)] + [(1, 24000 + i * 160, p) for i, p in enumerate(human)],
    )
    assert np.array_equal(data, want)


def test_truncated_blob_keeps_whole_frames_and_warns() -> None:
    pays = ramp_payloads(5, 17)
    blob = build_sn3(leg(pays, 0))
    data, report, _ = decode(blob[:-100])
    assert report.truncated and report.warnings and "truncated" in report.warnings[0]
    assert np.array_equal(data, expect(640, [(0, i * 160, p) for i, p in enumerate(pays[:4])]))


def test_sn2_and_sn1_and_raw() -> None:
    caller, agent = ramp_payloads(4, 18), ramp_payloads(4, 19)
    frames = leg(caller, 0, seq0=9) + leg(agent, 1, seq0=500, ts0=99, wall0_ms=500)
    swapped = [frames[1], frames[0], *frames[2:]]
    data, _, _ = decode(build_sn2(swapped))  # no wall clock: RTP order, each leg from 0
    want = expect(640, [(0, i * 160, p) for i, p in enumerate(caller)] + [(1, i * 160, p) for i, p in enumerate(agent)])
    assert np.array_equal(data, want)
    data, _, _ = decode(build_sn1(swapped))  # arrival order only
    order1 = [caller[1], caller[0], caller[2], caller[3]]
    want = expect(640, [(0, i * 160, p) for i, p in enumerate(order1)] + [(1, i * 160, p) for i, p in enumerate(agent)])
    assert np.array_equal(data, want)
    raw = b"".join(caller) + caller[0][:50]
    data, report, _ = decode(raw)
    assert report.format == "raw" and data.shape == (690, 2)
    assert np.array_equal(data[:, 0], decode_ulaw(raw)) and not data[:, 1].any()


def test_pcma_uses_alaw_table() -> None:
    frames = leg([b"\xd5" * 160, b"\x2a" * 160], 0)
    data, _, _ = decode(build_sn3(frames), "pcma")
    assert set(data[:160, 0].tolist()) == {8} and set(data[160:, 0].tolist()) == {-32256}


def test_mulaw_silence_code_is_zero() -> None:
    data, _, _ = decode(build_sn3(leg([b"\xff" * 160] * 3, 0)))
    assert not data.any()


@pytest.mark.parametrize("snap_ms", [0, 9, 501, 1000])
def test_snap_window_range(snap_ms: int) -> None:
    with pytest.raises(ValueError, match="snap window"):
        decode(build_sn3(leg(ramp_payloads(1, 1), 0)), snap_ms=snap_ms)
