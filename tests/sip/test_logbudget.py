"""LogBudget: a burst per window is let through, the rest counted, driven by a hand clock."""

from __future__ import annotations

from softswitch.sip.logbudget import LogBudget


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_counted_then_a_new_window_reports_the_count() -> None:
    clock = Clock()
    budget = LogBudget(burst=3, window=60.0, clock=clock)
    assert [budget.take() for _ in range(3)] == [(True, 0)] * 3
    assert [budget.take() for _ in range(5)] == [(False, 0)] * 5
    clock.now += 59.9
    assert budget.take() == (False, 0)  # still the same window
    clock.now += 0.1
    assert budget.take() == (True, 6)  # the next window: what was dropped is told once
    assert budget.take() == (True, 0)
