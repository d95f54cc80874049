"""Local calendar buckets as UTC edges: the one definition the page, the API and the tests share."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SLOT = timedelta(minutes=15)
BUCKETS = ("hour", "day", "week", "month")
# Chart and table sizes stay sane; also bounds the work of one request.
MAX_BUCKETS = 1000


class BucketError(ValueError):
    """Bad report range; ``param`` names the offending request parameter."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


def slot_of(at: datetime) -> datetime:
    """The 15-minute UTC slot a moment belongs to (a call belongs to the slot of its start)."""
    at = at.astimezone(UTC)
    return at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0)


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    # A zone may skip midnight (DST at 00:00, e.g. America/Santiago): the first instant of the day.
    naive = datetime.combine(day, time())
    first = naive.replace(tzinfo=tz)
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
        first = (naive + timedelta(hours=1)).replace(tzinfo=tz)
    return first.astimezone(UTC)


def _next_start(local: datetime, bucket: str) -> datetime:
    """Naive local wall time of the next bucket start after the bucket starting at ``local``."""
    if bucket == "day":
        return local + timedelta(days=1)
    if bucket == "week":
        return local + timedelta(days=7)
    if bucket == "month":
        return local.replace(year=local.year + local.month // 12, month=local.month % 12 + 1, day=1)
    raise AssertionError(bucket)


def _floor(day: date, bucket: str) -> date:
    if bucket == "week":
        return day - timedelta(days=day.weekday())  # ISO week: Monday
    if bucket == "month":
        return day.replace(day=1)
    return day


def bucket_edges(*, start: date, end: date, bucket: str, tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """Local-calendar buckets covering the local days ``start`` .. ``end`` (both included).

    Returns (label, edge) pairs: ``label`` is the bucket's nominal local start (aware, in ``tz``),
    ``edge`` the UTC instant it starts at; the last pair's edge is the end of the range. The first
    and last buckets are clipped to the range. Hours are real elapsed hours (a 23-hour day has 23
    hour buckets, a 25-hour day 25); days, weeks and months follow the local calendar.
    """
    if bucket not in BUCKETS:
        raise BucketError("bucket", f"expected one of {', '.join(BUCKETS)}")
    if end < start:
        raise BucketError("to", "must not be before 'from'")
    lo, hi = _local_midnight(start, tz), _local_midnight(end + timedelta(days=1), tz)
    edges: list[tuple[datetime, datetime]] = []
    if bucket == "hour":
        if (hi - lo) / timedelta(hours=1) > MAX_BUCKETS:
            raise BucketError("bucket", f"more than {MAX_BUCKETS} hour buckets: choose a coarser bucket")
        # Whole UTC hours are local hours only in whole-hour zones; a +05:30 hour starts at :30 UTC.
        at = lo
        while at < hi:
            edges.append((at.astimezone(tz), at))
            at += timedelta(hours=1)
    else:
        local = datetime.combine(_floor(start, bucket), time())
        while True:
            at = max(_local_midnight(local.date(), tz), lo)
            if at >= hi:
                break
            edges.append((local.replace(tzinfo=tz), at))
            if len(edges) > MAX_BUCKETS:
                raise BucketError("bucket", f"more than {MAX_BUCKETS} {bucket} buckets: choose a coarser bucket")
            local = _next_start(local, bucket)
    edges.append((hi.astimezone(tz), hi))
    for _, at in edges:
        if at != slot_of(at):
            raise BucketError("tz", f"{tz.key} has an offset that is not a multiple of 15 minutes in this range")
    return edges


def bucket_index(edges: list[datetime], at: datetime) -> int:
    """Index of the bucket holding ``at`` (``edges`` sorted UTC starts plus the end); -1 outside."""
    from bisect import bisect_right

    i = bisect_right(edges, at) - 1
    return i if 0 <= i < len(edges) - 1 else -1


def _utc_midnight(at: datetime, up: bool) -> datetime:
    floor = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return floor + timedelta(days=1) if up and floor != at else floor


def split_days(edges: list[datetime]) -> tuple[list[tuple[date, date, int]], list[tuple[datetime, datetime]]]:
    """Split bucketed UTC time into whole UTC days inside one bucket and the slot ranges left over.

    Returns ``(days, ranges)``: ``days`` holds (first day, end day exclusive, bucket index) per
    bucket that contains whole UTC days; ``ranges`` the remaining [start, end) UTC spans, adjacent
    ones merged. Together they cover ``edges[0]`` .. ``edges[-1]`` exactly once.
    """
    days: list[tuple[date, date, int]] = []
    ranges: list[tuple[datetime, datetime]] = []
    for i in range(len(edges) - 1):
        lo, hi = edges[i], edges[i + 1]
        first, last = _utc_midnight(lo, up=True), _utc_midnight(hi, up=False)
        parts = [(lo, hi)]
        if first < last:
            days.append((first.date(), last.date(), i))
            parts = [(lo, first), (last, hi)]
        for a, b in parts:
            if a >= b:
                continue
            if ranges and ranges[-1][1] == a:
                ranges[-1] = (ranges[-1][0], b)
            else:
                ranges.append((a, b))
    return days, ranges
