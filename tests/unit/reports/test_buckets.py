"""Local buckets as UTC edges: DST days of 23 and 25 hours, half- and quarter-hour zones."""

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from cdr.reports.buckets import MAX_BUCKETS, BucketError, bucket_edges, bucket_index, slot_of, split_levels

BERLIN, NEW_YORK, KOLKATA = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata")


def _lengths(edges):
    return [(b[1] - a[1]) / timedelta(hours=1) for a, b in itertools.pairwise(edges)]


@pytest.mark.parametrize(
    ("tz", "spring", "autumn"),
    [(BERLIN, date(2026, 3, 29), date(2026, 10, 25)), (NEW_YORK, date(2026, 3, 8), date(2026, 11, 1))],
)
def test_dst_days_have_23_and_25_hours(tz, spring, autumn):
    assert _lengths(bucket_edges(start=spring, end=spring + timedelta(days=1), bucket="day", tz=tz)) == [23, 24]
    assert _lengths(bucket_edges(start=autumn, end=autumn, bucket="day", tz=tz)) == [25]
    assert len(bucket_edges(start=spring, end=spring, bucket="hour", tz=tz)) - 1 == 23
    hours = bucket_edges(start=autumn, end=autumn, bucket="hour", tz=tz)
    assert len(hours) - 1 == 25
    # The repeated local hour appears twice, told apart by its offset.
    labels = [label.isoformat() for label, _ in hours[:-1]]
    assert len(set(labels)) == 25


def test_berlin_day_edges_are_local_midnights():
    edges = bucket_edges(start=date(2026, 3, 28), end=date(2026, 3, 30), bucket="day", tz=BERLIN)
    assert [at for _, at in edges] == [
        datetime(2026, 3, 27, 23, tzinfo=UTC),
        datetime(2026, 3, 28, 23, tzinfo=UTC),
        datetime(2026, 3, 29, 22, tzinfo=UTC),
        datetime(2026, 3, 30, 22, tzinfo=UTC),
    ]


def test_kolkata_hours_start_at_half_past_utc():
    edges = bucket_edges(start=date(2026, 1, 5), end=date(2026, 1, 5), bucket="hour", tz=KOLKATA)
    assert len(edges) == 25
    assert edges[0][1] == datetime(2026, 1, 4, 18, 30, tzinfo=UTC)
    assert all(at.minute == 30 for _, at in edges)


def test_kathmandu_quarter_hour_offset_is_slot_aligned():
    edges = bucket_edges(start=date(2026, 1, 5), end=date(2026, 1, 6), bucket="day", tz=ZoneInfo("Asia/Kathmandu"))
    assert edges[0][1] == datetime(2026, 1, 4, 18, 15, tzinfo=UTC)


def test_weeks_start_on_monday_and_the_range_clips_them():
    edges = bucket_edges(start=date(2026, 3, 25), end=date(2026, 4, 8), bucket="week", tz=BERLIN)
    labels = [label.date() for label, _ in edges]
    assert labels[:-1] == [date(2026, 3, 23), date(2026, 3, 30), date(2026, 4, 6)]
    assert edges[0][1] == datetime(2026, 3, 24, 23, tzinfo=UTC)  # clipped to the range start
    assert edges[-1][1] == datetime(2026, 4, 8, 22, tzinfo=UTC)


def test_months_follow_the_local_calendar_across_a_year_end():
    edges = bucket_edges(start=date(2025, 11, 15), end=date(2026, 2, 28), bucket="month", tz=NEW_YORK)
    assert [label.date() for label, _ in edges[:-1]] == [
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
    ]
    assert edges[2][1] == datetime(2026, 1, 1, 5, tzinfo=UTC)


def test_every_edge_is_a_slot_edge_in_common_zones():
    for tz in ("Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham"):
        for bucket in ("hour", "day", "week", "month"):
            edges = bucket_edges(start=date(2026, 1, 1), end=date(2026, 1, 31), bucket=bucket, tz=ZoneInfo(tz))
            assert all(slot_of(at) == at for _, at in edges)


def test_an_offset_off_the_15_minute_grid_is_refused_naming_tz():
    # Before 1942 Kolkata kept +05:53:20.
    with pytest.raises(BucketError) as err:
        bucket_edges(start=date(1900, 1, 1), end=date(1900, 1, 2), bucket="day", tz=KOLKATA)
    assert err.value.param == "tz"


def test_bad_ranges_name_their_parameter():
    with pytest.raises(BucketError) as err:
        bucket_edges(start=date(2026, 1, 2), end=date(2026, 1, 1), bucket="day", tz=BERLIN)
    assert err.value.param == "to"
    with pytest.raises(BucketError) as err:
        bucket_edges(start=date(2026, 1, 1), end=date(2026, 1, 1), bucket="minute", tz=BERLIN)
    assert err.value.param == "bucket"
    with pytest.raises(BucketError, match="hour buckets"):
        bucket_edges(start=date(2025, 1, 1), end=date(2025, 12, 31), bucket="hour", tz=BERLIN)
    days = MAX_BUCKETS + 5
    with pytest.raises(BucketError, match="day buckets"):
        bucket_edges(start=date(2020, 1, 1), end=date(2020, 1, 1) + timedelta(days=days), bucket="day", tz=BERLIN)


def test_slot_and_bucket_index():
    assert slot_of(datetime(2026, 3, 29, 1, 44, 59, 999, tzinfo=UTC)) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    edges = [at for _, at in bucket_edges(start=date(2026, 3, 29), end=date(2026, 3, 29), bucket="hour", tz=BERLIN)]
    assert bucket_index(edges, edges[0] - timedelta(microseconds=1)) == -1
    assert bucket_index(edges, edges[1]) == 1
    assert bucket_index(edges, edges[-1]) == -1


@pytest.mark.parametrize(
    ("tz", "bucket", "start", "end"),
    [
        (BERLIN, "month", date(2025, 3, 15), date(2026, 3, 14)),
        (KOLKATA, "week", date(2026, 1, 1), date(2026, 3, 31)),
        (NEW_YORK, "day", date(2026, 3, 1), date(2026, 3, 31)),
        (ZoneInfo("UTC"), "day", date(2026, 3, 1), date(2026, 3, 31)),
        (BERLIN, "hour", date(2026, 10, 24), date(2026, 10, 26)),
    ],
)
def test_day_hour_and_slot_pieces_cover_the_range_exactly_once(tz, bucket, start, end):
    edges = [at for _, at in bucket_edges(start=start, end=end, bucket=bucket, tz=tz)]
    levels = split_levels(edges)
    spans = sorted(piece for pieces in levels.values() for piece in pieces)
    assert spans[0][0] == edges[0] and spans[-1][1] == edges[-1]
    assert all(x[1] == y[0] for x, y in itertools.pairwise(spans))
    assert all(edges[i] <= a < b <= edges[i + 1] for a, b, i in spans)
    for a, b, _ in levels["day"]:
        assert a.hour == a.minute == b.hour == b.minute == 0
    for a, b, _ in levels["hour"]:
        assert a.minute == b.minute == 0
    assert all(b - a < timedelta(hours=1) for a, b, _ in levels["slot"])
    if tz.key == "UTC":
        assert len(levels["day"]) == 31 and not levels["hour"] and not levels["slot"]
    if tz.key == "Asia/Kolkata":  # local midnight is :30 UTC: two slots at each edge
        assert levels["slot"]
    if tz.key == "Europe/Berlin" and bucket == "hour":
        assert not levels["day"] and len(levels["hour"]) == 24 + 25 + 24 and not levels["slot"]
