import asyncio
import logging
import time

import pytest

from media.clock import MediaClock


async def wait_ticks(clock: MediaClock, count: int) -> None:
    target = clock.tick_no + count
    async with asyncio.timeout(10):
        while clock.tick_no < target:
            await asyncio.sleep(0.005)


async def test_calls_every_callback_with_consecutive_tick_numbers() -> None:
    clock = MediaClock()
    a: list[int] = []
    b: list[int] = []
    clock.add(a.append)
    clock.add(b.append)
    clock.start()
    assert clock.running
    await wait_ticks(clock, 10)
    clock.stop()
    assert not clock.running
    assert len(a) >= 10
    assert a == list(range(a[0], a[0] + len(a)))
    assert b == a


async def test_ticks_follow_absolute_deadlines() -> None:
    # Each tick fires no earlier than its deadline, and a 5 ms callback does not
    # stretch the period: the tick number keeps matching elapsed loop time.
    loop = asyncio.get_running_loop()
    clock = MediaClock(interval=0.02)
    seen: list[tuple[int, float]] = []

    def slow(tick: int) -> None:
        seen.append((tick, loop.time()))
        time.sleep(0.005)

    clock.add(slow)
    clock.start()
    await wait_ticks(clock, 30)
    clock.stop()
    t0 = seen[0][1]
    for tick, at in seen:
        assert (
            at >= t0 + (tick - seen[0][0]) * 0.02 - 0.002
        )  # never early (timer granularity aside)
    last_tick, last_at = seen[-1]
    elapsed_ticks = (last_at - t0) / 0.02
    # With relative sleeps 30 ticks would take ~37 periods; absolute deadlines keep
    # the count within the catch-up limit of elapsed time.
    assert abs((last_tick - seen[0][0]) - elapsed_ticks) <= clock.max_late + 1


async def test_late_loop_skips_ahead_instead_of_bursting() -> None:
    clock = MediaClock(interval=0.02, max_late=3)
    ticks: list[int] = []

    def callback(tick: int) -> None:
        ticks.append(tick)
        if len(ticks) == 3:
            time.sleep(0.25)  # block the loop for ~12 ticks

    clock.add(callback)
    clock.start()
    await wait_ticks(clock, 20)
    clock.stop()
    jumps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    assert max(jumps) >= 8  # the missed ticks were skipped in one go
    assert clock.skipped >= max(jumps) - 1
    # fewer callbacks than tick numbers: no burst replaying the missed ticks
    assert len(ticks) < ticks[-1] - ticks[0] + 1


async def test_callback_exception_is_logged_and_clock_continues(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = MediaClock()
    good: list[int] = []

    def bad(tick: int) -> None:
        raise RuntimeError("boom")

    clock.add(bad)
    clock.add(good.append)
    with caplog.at_level(logging.ERROR, logger="media.clock"):
        clock.start()
        await wait_ticks(clock, 5)
        clock.stop()
    assert len(good) >= 5
    assert clock.errors >= 5
    assert "boom" in caplog.text


async def test_add_remove_during_ticks() -> None:
    clock = MediaClock()
    calls: list[int] = []

    def once(tick: int) -> None:
        calls.append(tick)
        clock.remove(once)

    clock.add(once)
    clock.remove(lambda t: None)  # unknown callback: no error
    clock.start()
    clock.start()  # idempotent
    await wait_ticks(clock, 5)
    clock.stop()
    assert len(calls) == 1
    assert len(clock) == 0


async def test_a_callback_failing_every_tick_is_logged_once_with_a_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = MediaClock(interval=0.002)

    def broken(tick: int) -> None:
        raise ValueError("socket family mismatch")

    clock.add(broken)
    with caplog.at_level(logging.DEBUG, logger="media.clock"):
        clock.start()
        await wait_ticks(clock, 30)
        failures = clock.faults(broken)
        clock.remove(broken)
        clock.stop()
    assert failures >= 30
    records = [r for r in caplog.records if r.name == "media.clock"]
    # one record with the traceback, one summary with the count: not one per tick
    assert len(records) == 2
    first, summary = records
    assert first.exc_info is not None and "socket family mismatch" in caplog.text
    assert summary.exc_info is None
    assert f"failed on {summary.args[1]} ticks" in summary.getMessage()  # type: ignore[index]
    assert summary.args[1] >= failures  # type: ignore[index]
    assert clock.faults(broken) == 0
