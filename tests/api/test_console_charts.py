"""The console's server-side chart arithmetic (api/console/charts.py)."""

from __future__ import annotations

from api.console import charts

START = 1_700_000_000.0 - 1_700_000_000.0 % 3600  # an hour boundary


def test_hour_bars_scale_to_the_busiest_hour_and_skip_bins_outside():
    bins = [(START, 4, 1), (START + 3 * 3600, 2, 2), (START + 30 * 3600, 9, 9)]
    bars = charts.hour_bars(bins, START, 24)
    assert [b.x for b in bars] == [0.0, 90.0]  # 720 / 24 = 30 per hour; the 31st hour is out
    assert bars[0].total_height == charts.HEIGHT and bars[0].answered_height == 30.0
    assert bars[1].total_height == bars[1].answered_height == 60.0
    assert bars[0].width == 24.0
    assert bars[0].label.endswith("UTC: 4 calls, 1 answered")
    assert charts.hour_bars([], START, 24) == []
    assert charts.hour_bars(bins, START, 0) == []


def test_answer_rate_points_from_the_bottom_up():
    days = [(START, 4, 1), (START + 86400, 2, 2), (START + 2 * 86400, 0, 0)]
    points = charts.answer_rate_points(days, START, 4)
    assert [p.x for p in points] == [90.0, 270.0]  # the middle of each day's quarter
    low, high = charts.MARGIN, charts.HEIGHT - charts.MARGIN
    assert points[1].y == low  # 100% at the top
    assert points[0].y == round(high - (high - low) * 0.25, 2)
    assert points[0].label.endswith(": 25% of 4 answered")


def test_progress_bar_segments_fill_the_width_in_order():
    segments = charts.progress({"planned": 2, "in-process": 1, "done": 1, "failed": 0})
    assert [s.css for s in segments] == ["done", "in-process", "planned"]
    assert [s.count for s in segments] == [1, 1, 2]
    assert segments[0].x == 0.0 and segments[-1].x + segments[-1].width == charts.WIDTH
    assert charts.progress({"planned": 0}) == []
