import numpy as np
import pytest

from cdr.media import decode_alaw, decode_ulaw, encode_alaw, encode_ulaw
from cdr.media.g711 import ALAW_TABLE, ULAW_TABLE


@pytest.mark.parametrize(
    ("code", "value"),
    [(0x00, -32124), (0x80, 32124), (0xFF, 0), (0x7F, 0), (0x7E, -8), (0xFE, 8), (0x0F, -16764), (0xF0, 120)],
)
def test_ulaw_itu_values(code: int, value: int) -> None:
    assert int(ULAW_TABLE[code]) == value


@pytest.mark.parametrize(
    ("code", "value"),
    [(0xD5, 8), (0x55, -8), (0x2A, -32256), (0xAA, 32256), (0xD4, 24), (0x80, 5504), (0x00, -5504)],
)
def test_alaw_itu_values(code: int, value: int) -> None:
    assert int(ALAW_TABLE[code]) == value


def test_tables_are_odd_symmetric_and_monotonic() -> None:
    mags = ULAW_TABLE[0x80:][::-1].astype(int)  # 0xFF..0x80: 0 .. 32124
    assert np.all(np.diff(mags) > 0)
    assert np.array_equal(ULAW_TABLE[:0x80], -ULAW_TABLE[0x80:])
    assert np.array_equal(ALAW_TABLE[:0x80], -ALAW_TABLE[0x80:])


def test_codes_round_trip() -> None:
    codes = np.arange(256, dtype=np.uint8)
    assert encode_alaw(decode_alaw(codes)) == codes.tobytes()
    back = np.frombuffer(encode_ulaw(decode_ulaw(codes)), dtype=np.uint8)
    assert np.array_equal(back[codes != 0x7F], codes[codes != 0x7F])  # +0/-0 both encode to 0xFF
    assert back[0x7F] == 0xFF


def test_encoders_quantise_within_segment_error() -> None:
    x = np.arange(-32768, 32768, 7)
    for enc, dec, bound in ((encode_ulaw, decode_ulaw, 0.0625), (encode_alaw, decode_alaw, 0.0625)):
        y = dec(enc(x)).astype(int)
        small = np.abs(x) < 30000
        assert np.all(np.abs(y[small] - x[small]) <= np.maximum(np.abs(x[small]) * bound, 16))
    assert encode_ulaw([0]) == b"\xff"
    assert encode_alaw([0]) == b"\xd5"
