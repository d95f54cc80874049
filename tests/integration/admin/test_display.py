"""How the admin writes durations: a clock for calls, seconds for short delays."""

from __future__ import annotations

import pytest

from cdr.admin.display import duration, seconds, zone_label


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (None, ""),
        (0, "0:00"),
        (999, "0:00"),
        (185_000, "3:05"),
        (3_599_999, "59:59"),
        (3_600_000, "1:00:00"),
        (37_230_500, "10:20:30"),
        (-5, "0:00"),
    ],
)
def test_durations_read_as_a_clock_with_hours_from_one_hour(ms, text):
    assert duration(ms) == text


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (None, ""),
        (0, "0.0 s"),
        (18_235, "18.2 s"),
        (1_849, "1.8 s"),
        (59_949, "59.9 s"),
        (59_950, "0:59"),
        (61_000, "1:01"),
    ],
)
def test_short_delays_read_as_seconds(ms, text):
    assert seconds(ms) == text


def test_the_zone_label_says_when_times_are_utc_instead():
    assert zone_label("Europe/Paris") == "Europe/Paris"
    assert zone_label("Europe/Pariss") == 'UTC: "Europe/Pariss" is not a time zone'
    assert zone_label("") == "UTC"
