"""LoginGuard: per-source bans, per-account slow-down (never a lock-out), real asyncio."""

from __future__ import annotations

import asyncio
import time

import pytest

from softswitch.login_guard import MAX_WAITING, LoginGuard, LoginLimits, Throttled


def guard(**kwargs: float) -> LoginGuard:
    limits = dict(failures_per_source=5, failures_per_account=3, window=60, ban=30)
    limits.update(kwargs)
    return LoginGuard(LoginLimits(account_delay=0.05, **limits))  # type: ignore[arg-type]


async def test_a_source_is_banned_after_its_failures_whatever_account_it_names() -> None:
    g = guard()
    for i in range(5):
        await g.admit("10.0.0.1", f"acct{i}")  # one failure each: no account is slowed
        g.failed("10.0.0.1", f"acct{i}")
    with pytest.raises(Throttled) as refused:
        await g.admit("10.0.0.1", "acct9")
    assert 29 <= refused.value.retry_after <= 30
    await g.admit("10.0.0.2", "acct9")  # another address is not touched


async def test_an_attacked_account_is_slowed_not_locked() -> None:
    g = guard(failures_per_source=1000)
    for _ in range(3):
        g.failed("10.0.0.1", "victim")
    started = time.monotonic()
    await g.admit("10.0.0.2", "victim")  # the owner, elsewhere: let in after the delay
    assert time.monotonic() - started >= 0.045
    started = time.monotonic()
    await g.admit("10.0.0.2", "someone-else")
    assert time.monotonic() - started < 0.04


async def test_tries_on_a_slowed_account_start_one_per_delay() -> None:
    g = guard(failures_per_source=1000)
    for _ in range(3):
        g.failed("10.0.0.1", "victim")
    starts: list[float] = []

    async def one(source: str) -> None:
        await g.admit(source, "victim")
        starts.append(time.monotonic())

    began = time.monotonic()
    await asyncio.gather(*(one(f"10.0.1.{i}") for i in range(4)))
    assert max(starts) - began >= 4 * 0.05 * 0.9


async def test_waiting_tries_are_capped() -> None:
    g = guard(failures_per_source=1000)
    for _ in range(3):
        g.failed("10.0.0.1", "victim")
    waiting = [asyncio.create_task(g.admit(f"10.0.2.{i}", "victim")) for i in range(MAX_WAITING)]
    await asyncio.sleep(0)
    with pytest.raises(Throttled):
        await g.admit("10.0.3.1", "victim")
    await asyncio.gather(*waiting)
    await g.admit("10.0.3.1", "victim")  # the queue drained: admitted again (after the delay)


async def test_an_unknown_account_name_is_throttled_like_a_real_one() -> None:
    # the guard never sees whether a name exists: only the names and the failures
    g = guard(failures_per_source=1000)
    for name in ("account_1", "no-such-account"):
        for _ in range(3):
            g.failed("10.0.0.1", name)
        assert g.accounts.over(name)


async def test_a_ban_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    g = guard()
    for _ in range(5):
        g.failed("10.0.0.1", "acct")
    with pytest.raises(Throttled):
        await g.admit("10.0.0.1", "acct")
    bans = [r for r in caplog.records if r.name == "softswitch.login_guard"]
    assert [r.getMessage() for r in bans] == [
        "API logins from 10.0.0.1 refused for 30 s: 5 failures (last as 'acct')"
    ]
