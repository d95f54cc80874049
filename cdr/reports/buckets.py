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


LEVELS = ("day", "hour", "slot")


def _trunc(at: datetime, level: str, up: bool) -> datetime:
    floor = at.replace(minute=0, second=0, microsecond=0)
    if level == "day":
        floor = floor.replace(hour=0)
    step = timedelta(days=1) if level == "day" else timedelta(hours=1)
    return floor + step if up and floor != at else floor


def split_levels(edges: list[datetime]) -> dict[str, list[tuple[datetime, datetime, int]]]:
    """Split bucketed UTC time into the coarsest rollup pieces that each lie inside one bucket.

    Returns, per level ("day", "hour", "slot"), the (start, end, bucket index) pieces in time
    order: whole UTC days inside a bucket, then whole UTC hours of what is left, then 15-minute
    slots. Together they cover ``edges[0]`` .. ``edges[-1]`` exactly once.
    """
    out: dict[str, list[tuple[datetime, datetime, int]]] = {level: [] for level in LEVELS}
    for i in range(len(edges) - 1):
        todo = [(edges[i], edges[i + 1])]
        for level in LEVELS:
            left = []
            for lo, hi in todo:
                first, last = (lo, hi) if level == "slot" else (_trunc(lo, level, True), _trunc(hi, level, False))
                if first < last:
                    out[level].append((first, last, i))
                    left += [(lo, first), (last, hi)]
                else:
                    left.append((lo, hi))
            todo = [(a, b) for a, b in left if a < b]
    for pieces in out.values():
        pieces.sort()
    return out
