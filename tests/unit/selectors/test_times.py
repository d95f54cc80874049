"""The one grammar of user-facing time parameters (API, cdr_export, admin date filters)."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from cdr.selectors.times import when_parse

PARIS = ZoneInfo("Europe/Paris")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "upper", "zone", "expected"),
    [
        # A plain date: the start of the day as a lower bound, the next day's as an (exclusive) upper one.
        ("2026-12-03", False, UTC, utc(2026, 12, 3)),
        ("2026-12-03", True, UTC, utc(2026, 12, 4)),
        # ... in the scope's zone (CET is UTC+1 in December).
        ("2026-12-03", False, PARIS, utc(2026, 12, 2, 23)),
        ("2026-12-03", True, PARIS, utc(2026, 12, 3, 23)),
        # The day of the DST switch is 23 hours long: the next local midnight, not 24 h later.
        ("2026-03-29", True, PARIS, utc(2026, 3, 29, 22)),
        # cdr_export's hint: a date with Z is the UTC day whatever the zone.
        ("2026-12-01Z", False, PARIS, utc(2026, 12, 1)),
        ("2026-12-01Z", True, PARIS, utc(2026, 12, 2)),
        ("2026-12-01+02:00", False, UTC, utc(2026, 11, 30, 22)),
        # Date-times: an offset wins over the zone; a date-time is the same instant as either bound.
        ("2026-12-03T08:30:00Z", False, PARIS, utc(2026, 12, 3, 8, 30)),
        ("2026-12-03T08:30:00Z", True, PARIS, utc(2026, 12, 3, 8, 30)),
        ("2026-12-03t08:30:00z", False, UTC, utc(2026, 12, 3, 8, 30)),
        ("2026-12-03 08:30:00-05:00", False, UTC, utc(2026, 12, 3, 13, 30)),
        ("2026-12-03T08:30+01:00", False, UTC, utc(2026, 12, 3, 7, 30)),
        # Without an offset: in the zone (the admin's form sends these).
        ("2026-12-03T08:30", False, PARIS, utc(2026, 12, 3, 7, 30)),
        ("2026-12-03T08:30:15", True, UTC, utc(2026, 12, 3, 8, 30, 15)),
        # 1 to 9 fractional digits, truncated to microseconds (as the wire).
        ("2026-12-03T08:30:00.5Z", False, UTC, utc(2026, 12, 3, 8, 30, 0, 500000)),
        ("2026-12-03T08:30:00.123456789Z", False, UTC, utc(2026, 12, 3, 8, 30, 0, 123456)),
        ("2026-12-03T08:30:00.999999999+00:00", False, UTC, utc(2026, 12, 3, 8, 30, 0, 999999)),
        # The extremes that fit.
        ("0001-01-01T00:00:00Z", False, UTC, utc(1, 1, 1)),
        ("9999-12-31T23:59:59.999999Z", True, UTC, utc(9999, 12, 31, 23, 59, 59, 999999)),
        ("9999-12-31", False, UTC, utc(9999, 12, 31)),
    ],
)
def test_accepted(value, upper, zone, expected):
    assert when_parse(value, upper=upper, zone=zone) == expected


def test_the_zone_may_be_given_lazily_and_is_read_only_when_needed():
    asked = []

    def zone():
        asked.append(1)
        return PARIS

    assert when_parse("2026-12-03T08:30:00Z", upper=False, zone=zone) == utc(2026, 12, 3, 8, 30)
    assert asked == []
    assert when_parse("2026-12-03", upper=False, zone=zone) == utc(2026, 12, 2, 23)
    assert asked == [1]


@pytest.mark.parametrize(
    ("value", "upper", "reason"),
    [
        ("yesterday", False, "expected a date or a date-time"),
        ("", False, "expected a date or a date-time"),
        ("20261203", False, "expected a date or a date-time"),
        ("2026-W49-4", False, "expected a date or a date-time"),
        ("2026-12-03T08", False, "expected a date or a date-time"),
        ("2026-12-03T08:30:00.1234567891Z", False, "expected a date or a date-time"),  # 10 digits
        ("٢٠٢٦-12-03", False, "expected a date or a date-time"),
        ("2026-12-03T08:30:00Z\n", False, "expected a date or a date-time"),
        ("2026-12-03" + "0" * 5000, False, "expected a date or a date-time"),
        ("2026-12-03\x00", False, "NUL characters are not allowed"),
        ("2026-12-03T08:30:00 01:00", False, "send it as %2B"),  # an unencoded + in a URL
        ("2026-02-30", False, "not a valid date or time"),
        ("2026-12-03T24:00:00Z", False, "not a valid date or time"),
        ("2026-12-03T08:30:00+24:00", False, "not a valid UTC offset"),
        # Outside the years 0001..9999 in UTC: as every database gets it.
        ("0000-01-01", False, "outside years 1 to 9999 in UTC"),
        ("9999-12-31T23:59:59-14:00", False, "outside years 1 to 9999 in UTC"),
        ("0001-01-01T00:00:00+14:00", True, "outside years 1 to 9999 in UTC"),
        ("9999-12-31", True, "outside years 1 to 9999 in UTC"),  # the day after
        ("0001-01-01+01:00", False, "outside years 1 to 9999 in UTC"),
    ],
)
def test_refused_with_a_reason(value, upper, reason):
    with pytest.raises(ValueError, match=reason):
        when_parse(value, upper=upper, zone=UTC)
