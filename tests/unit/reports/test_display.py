"""The page's formatting of report figures: percentages, m:ss, seconds, local period labels."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from cdr.reports import display
from cdr.reports.metrics import FIGURES

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("asr", 0.8333, "83.3 %"),
        ("ner", 1.0, "100.0 %"),
        ("recording_coverage", None, display.NONE),
        ("acd_s", 68.8, "1:09"),
        ("acd_s", 0.3, "0:00"),
        ("acd_s", 3725.0, "1:02:05"),
        ("pdd_mean_ms", 2449, "2.4 s"),
        ("pdd_p95_ms", None, display.NONE),
        ("attempts", 1234567, "1,234,567"),
        ("billable_minutes", 3.44, "3.4"),
    ],
)
def test_cells(name, value, shown):
    assert display.cell(name, value) == shown


def test_every_figure_has_a_human_name():
    for name in FIGURES:
        assert "_" not in display.COLUMNS[name], name


@pytest.mark.parametrize(
    ("start", "bucket", "first", "axis"),
    [
        (datetime(2026, 12, 3, 14, 0, tzinfo=PARIS), "hour", False, "14:00"),
        (datetime(2026, 12, 3, 0, 0, tzinfo=PARIS), "hour", False, "Thu 3 00:00"),
        (datetime(2026, 12, 3, 14, 0, tzinfo=PARIS), "hour", True, "Thu 3 14:00"),
        (datetime(2026, 12, 7, tzinfo=PARIS), "day", False, "Mon 7"),
        (datetime(2026, 11, 30, tzinfo=PARIS), "week", False, "Nov 30"),
        (datetime(2026, 12, 1, tzinfo=PARIS), "month", False, "Dec"),
        (datetime(2027, 1, 1, tzinfo=PARIS), "month", False, "Jan 2027"),
        (datetime(2026, 12, 1, tzinfo=PARIS), "month", True, "Dec 2026"),
    ],
)
def test_axis_labels_fit_the_bucket(start, bucket, first, axis):
    assert display.axis_label(start, bucket, first=first) == axis


def test_row_labels_tell_a_repeated_hour_apart():
    # 2026-10-25 in Paris: 02:00 happens twice, first in summer time, then in winter time.
    summer = datetime(2026, 10, 25, 0, 0, tzinfo=ZoneInfo("UTC")).astimezone(PARIS)
    winter = datetime(2026, 10, 25, 1, 0, tzinfo=ZoneInfo("UTC")).astimezone(PARIS)
    assert display.row_label(summer, "hour") == "Sun 25 Oct 02:00 CEST"
    assert display.row_label(winter, "hour") == "Sun 25 Oct 02:00 CET"
    assert display.row_label(winter, "day") == "Sun 25 Oct 2026"
    assert display.row_label(winter, "week") == "Week of Sun 25 Oct 2026"
    assert display.row_label(winter, "month") == "Oct 2026"
