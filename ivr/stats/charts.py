"""Chart geometry for the dashboard, drawn as SVG by its template: no script, no CDN, works offline.

Each function turns figures into shapes with coordinates in the chart's own viewBox; the
browser scales the drawing to the screen, so the same chart reads on a phone.
"""

from __future__ import annotations

from dataclasses import dataclass

BAR_HEIGHT = 20
LABEL_WIDTH = 120
CHART_WIDTH = 360  # about a phone's width: text stays readable when the browser scales it


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    top: int  # the largest value: what a full-length bar means


def across(items: dict[str, int], label_width: int = LABEL_WIDTH) -> Chart:
    """Horizontal bars, one per item, labels on the left (sections, languages, outcomes)."""
    top = max([*items.values(), 1])
    room = CHART_WIDTH - label_width - 40  # space for the number after the bar
    bars = tuple(
        Bar(label, n, label_width, i * (BAR_HEIGHT + 6), max(n, 0) / top * room, BAR_HEIGHT) for i, (label, n) in enumerate(items.items())
    )
    return Chart(CHART_WIDTH, max(len(bars) * (BAR_HEIGHT + 6), BAR_HEIGHT), bars, top)


def upward(items: dict[str, int], height: int = 160) -> Chart:
    """Vertical bars over time (calls per day); labels are the items' keys."""
    top = max([*items.values(), 1])
    step = CHART_WIDTH / max(len(items), 1)
    bars = tuple(
        Bar(label, n, i * step + step * 0.1, height - max(n, 0) / top * height, step * 0.8, max(n, 0) / top * height)
        for i, (label, n) in enumerate(items.items())
    )
    return Chart(CHART_WIDTH, height, bars, top)


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
