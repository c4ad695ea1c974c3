"""FailureThrottle: failures per key in a window, a ban, bounded memory (a hand clock)."""

from __future__ import annotations

import pytest

from softswitch.throttle import FailureThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_limit_th_failure_in_a_window_bans_for_the_ban_time() -> None:
    clock = Clock()
    throttle = FailureThrottle(3, window=60, ban=300, clock=clock)
    assert [throttle.failed("a") for _ in range(3)] == [False, False, True]
    assert throttle.blocked_for("a") == 300
    assert throttle.over("a") and not throttle.over("b") and throttle.blocked_for("b") == 0
    clock.now += 299
    assert throttle.blocked_for("a") == pytest.approx(1)
    clock.now += 1
    assert throttle.blocked_for("a") == 0


def test_failures_spread_wider_than_the_window_never_ban() -> None:
    clock = Clock()
    throttle = FailureThrottle(3, window=60, ban=300, clock=clock)
    for _ in range(10):
        assert not throttle.failed("a")
        clock.now += 31  # two failures per window at most
    assert throttle.blocked_for("a") == 0


def test_over_lasts_while_the_window_holds_the_failures_even_with_no_ban() -> None:
    clock = Clock()
    throttle = FailureThrottle(2, window=10, ban=0, clock=clock)
    throttle.failed("acct")
    assert not throttle.over("acct")
    throttle.failed("acct")
    assert throttle.over("acct") and throttle.blocked_for("acct") == 0
    clock.now += 10
    assert not throttle.over("acct") and throttle.failures("acct") == 0


def test_limit_zero_is_off() -> None:
    throttle = FailureThrottle(0, window=60, ban=300)
    assert not any(throttle.failed("a") for _ in range(1000))
    assert not throttle.over("a") and len(throttle) == 0


def test_memory_is_bounded_and_the_least_recent_key_goes_first() -> None:
    throttle = FailureThrottle(2, window=60, ban=60, max_keys=3)
    throttle.failed("old")
    throttle.failed("kept")
    throttle.failed("x")
    throttle.failed("kept")  # touched again: now the most recent, and banned
    throttle.failed("y")
    assert len(throttle) == 3
    assert throttle.failures("old") == 0
    assert throttle.blocked_for("kept") > 0


@pytest.mark.parametrize(
    "args", [(-1, 60, 60), (1, 0, 60), (1, 60, -1)], ids=["limit", "window", "ban"]
)
def test_wrong_settings_are_refused(args: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError):
        FailureThrottle(*args)


def test_clear_forgets_a_key_and_lifts_its_ban() -> None:
    throttle = FailureThrottle(2, window=60, ban=300, clock=Clock())
    throttle.failed("a")
    throttle.failed("a")
    throttle.failed("b")
    throttle.clear("a")
    throttle.clear("never-seen")
    assert throttle.blocked_for("a") == 0 and throttle.failures("a") == 0
    assert throttle.failures("b") == 1 and len(throttle) == 1
