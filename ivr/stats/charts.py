"""Chart geometry for the dashboard: drawn on the server, no script, no CDN, works offline.

Lists of figures (languages, sections, outcomes...) are tables whose cells carry a bar: a
screen reader reads a table, everyone else sees bars. Calls over time are vertical bars in
an SVG, one per day, or per week, month or year when days would not fit; the hour-of-week
map is an SVG of cells. Both also come as a table with the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

CHART_WIDTH = 360  # the over-time chart's viewBox: about a phone's width
MOST_BARS = {"day": 92, "week": 106, "month": 120}  # beyond these, the next coarser unit (then years)


@dataclass(frozen=True)
class Row:
    label: str
    value: int
    share: float  # the bar's length: 0-1, a share of the largest value


def bars(items: dict[str, int]) -> tuple[Row, ...]:
    """One row per item, its bar as long as its share of the largest."""
    top = max([*items.values(), 1])
    return tuple(Row(label, n, round(max(n, 0) / top, 4)) for label, n in items.items())


@dataclass(frozen=True)
class Bucket:
    """Calls in one bar of the over-time chart: a day, or a week, month or year (cut to the period)."""

    first: date
    last: date
    value: int
    x: float = 0.0
    y: float = 0.0
    width: float = 0.0
    height: float = 0.0


@dataclass(frozen=True)
class OverTime:
    unit: str  # day, week, month or year
    buckets: tuple[Bucket, ...]
    top: int  # the tallest bar
    width: int
    height: int
    filled: float  # the share of the width the bars take (a short period keeps narrow bars, from the left)


def over_time(calls_by_day: dict[str, int], start: date, end: date, height: int = 160) -> OverTime:
    """Calls per day over the period, grouped by week (from Monday), month or year when there
    would be more bars than fit a phone's width."""
    days = (end - start).days + 1
    unit = next((u for u, most in MOST_BARS.items() if _count(start, end, u, days) <= most), "year")
    sums: dict[date, list] = {}
    day = start
    while day <= end:
        begins = _begins(day, unit)
        entry = sums.setdefault(begins, [day, day, 0])
        entry[1] = day
        entry[2] += calls_by_day.get(day.isoformat(), 0)
        day += timedelta(days=1)
    top = max([n for _, _, n in sums.values()] + [1])
    step = CHART_WIDTH / max(len(sums), 30)
    buckets = tuple(
        Bucket(first, last, n, i * step + step * 0.1, height - max(n, 0) / top * height, step * 0.8, max(n, 0) / top * height)
        for i, (first, last, n) in enumerate(sums.values())
    )
    return OverTime(unit, buckets, top, CHART_WIDTH, height, round(len(sums) * step / CHART_WIDTH, 3))


def _begins(day: date, unit: str) -> date:
    if unit == "day":
        return day
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def _count(start: date, end: date, unit: str, days: int) -> int:
    """How many bars the period needs in a unit."""
    if unit == "day":
        return days
    if unit == "week":
        return (_begins(end, "week") - _begins(start, "week")).days // 7 + 1
    return (end.year - start.year) * 12 + end.month - start.month + 1


@dataclass(frozen=True)
class Cell:
    day: str
    hour: int
    value: int
    x: float
    y: float
    shade: float  # 0 (no calls) to 1 (the busiest hour)


def heat(week: dict[str, list[int]], size: float = 13.0, left: float = 44.0) -> tuple[tuple[Cell, ...], int]:
    """Calls by hour of the week: 7 rows of 24 cells, darker for busier hours."""
    top = max([n for hours in week.values() for n in hours] + [1])
    cells = tuple(
        Cell(day, hour, n, left + hour * size, row * size, max(n, 0) / top)
        for row, (day, hours) in enumerate(week.items())
        for hour, n in enumerate(hours)
    )
    return cells, top
