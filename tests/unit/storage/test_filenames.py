"""Download names of recordings: ``<call-id>_<local start>.<ext>``, safe whatever the Call-ID holds."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from cdr.storage.filenames import ascii_filename, content_disposition, download_filename

START = datetime(2026, 3, 29, 1, 30, 5, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.mark.parametrize(
    ("call_id", "name", "ascii"),
    [
        ("abc@gw", "abc@gw_2026-03-29_01-30-05.wav", "abc@gw_2026-03-29_01-30-05.wav"),
        ('a/b%20c "d"@gw', "a_b%20c _d_@gw_2026-03-29_01-30-05.wav", "a_b_20c_d_@gw_2026-03-29_01-30-05.wav"),
        ("../../etc/passwd", "etc_passwd_2026-03-29_01-30-05.wav", "etc_passwd_2026-03-29_01-30-05.wav"),
        ("...", "call_2026-03-29_01-30-05.wav", "call_2026-03-29_01-30-05.wav"),
        ("ü\r\nx;y", "ü_x;y_2026-03-29_01-30-05.wav", "_x_y_2026-03-29_01-30-05.wav"),
        ("x" * 300, "x" * 120 + "_2026-03-29_01-30-05.wav", "x" * 120 + "_2026-03-29_01-30-05.wav"),
    ],
)
def test_names_keep_what_is_safe(call_id, name, ascii):
    assert download_filename(call_id=call_id, started=START, ext="wav") == name
    assert ascii_filename(name) == ascii
    assert "/" not in name and "\\" not in name and '"' not in name


def test_the_header_has_an_ascii_name_and_the_utf8_one():
    name = download_filename(call_id='a/b%20c "d"@gw', started=START, ext="wav")
    assert content_disposition(name, attachment=True) == (
        'attachment; filename="a_b_20c_d_@gw_2026-03-29_01-30-05.wav"; '
        "filename*=UTF-8''a_b%2520c%20_d_%40gw_2026-03-29_01-30-05.wav"
    )
    header = content_disposition("ü.wav", attachment=False)
    assert header == "inline; filename=\"_.wav\"; filename*=UTF-8''%C3%BC.wav"
    header.encode("ascii")  # a header Django and S3 pass as it is
