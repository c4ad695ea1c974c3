"""Charts drawn on the server as inline SVG (no script, nothing fetched): the CDR page's
calls per hour and answer rate, and a campaign's progress bar.

Each function returns plain numbers for the templates to draw (`charts.svg` macros), so
the arithmetic is tested apart from the markup.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

WIDTH = 720.0  # the SVG viewBox width every chart is drawn in
HEIGHT = 120.0
MARGIN = 6.0  # keeps the answer rate's dots at 0% and 100% inside the chart


@dataclass(slots=True, frozen=True)
class Bar:
    x: float
    width: float
    total_height: float  # all calls of the bin
    answered_height: float  # the answered ones, drawn over it
    label: str  # the tooltip: "2026-12-06 07:00 UTC: 12 calls, 9 answered"


@dataclass(slots=True, frozen=True)
class Point:
    x: float
    y: float
    label: str


@dataclass(slots=True, frozen=True)
class Segment:
    x: float
    width: float
    css: str  # planned | in-process | done | failed
    count: int


def hour_bars(bins: list[tuple[float, int, int]], start: float, hours: int) -> list[Bar]:
    """``bins`` are (hour start, calls, answered) of the hours that had calls, from the
    ``hours`` hours after ``start``; empty hours get no bar."""
    if hours <= 0:
        return []
    step = WIDTH / hours
    inside = [
        (int((at - start) // 3600), at, calls, answered)
        for at, calls, answered in bins
        if 0 <= (at - start) // 3600 < hours
    ]
    peak = max((calls for _, _, calls, _ in inside), default=0) or 1
    bars = []
    for slot, at, calls, answered in inside:
        when = time.strftime("%Y-%m-%d %H:00", time.gmtime(at))
        bars.append(
            Bar(
                x=round(slot * step, 2),
                width=round(max(step * 0.8, 0.5), 2),
                total_height=round(HEIGHT * calls / peak, 2),
                answered_height=round(HEIGHT * answered / peak, 2),
                label=f"{when} UTC: {calls} calls, {answered} answered",
            )
        )
    return bars


def answer_rate_points(days: list[tuple[float, int, int]], start: float, count: int) -> list[Point]:
    """One point per day that had calls: (day start, calls, answered) -> its answer rate."""
    if count <= 0:
        return []
    step = WIDTH / count
    points = []
    for at, calls, answered in days:
        slot = int((at - start) // 86400)
        if not 0 <= slot < count or calls == 0:
            continue
        rate = answered / calls
        day = time.strftime("%Y-%m-%d", time.gmtime(at))
        points.append(
            Point(
                x=round(slot * step + step / 2, 2),
                y=round(MARGIN + (HEIGHT - 2 * MARGIN) * (1 - rate), 2),
                label=f"{day}: {rate:.0%} of {calls} answered",
            )
        )
    return points


def progress(counts: dict[str, int]) -> list[Segment]:
    """A stacked bar over the whole width: planned, in process, done, failed."""
    total = sum(counts.values())
    segments = []
    x = 0.0
    for css in ("done", "failed", "in-process", "planned"):
        n = counts.get(css, 0)
        if n == 0 or total == 0:
            continue
        width = WIDTH * n / total
        segments.append(Segment(round(x, 2), round(width, 2), css, n))
        x += width
    return segments
