"""RtpTimeout: real channels and phones (RtpSessions on loopback), time driven by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from media.ports import PortAllocator
from softswitch.channel import Channel, Registry
from softswitch.rtp_timeout import CHECK_EVERY, RtpTimeout
from tests.legs import Legs, legs, tone, until


@pytest.fixture
async def made() -> AsyncIterator[Legs]:
    async with legs(PortAllocator(32000, 32999)) as made:
        yield made


class Watch:
    """An RtpTimeout over a registry, its clock a number the test moves."""

    def __init__(self, timeout: float) -> None:
        self.now = 0.0
        self.registry = Registry()
        self.expired: list[Channel] = []
        self.timeout = RtpTimeout(self.registry, timeout, self.expired.append, lambda: self.now)

    def at(self, now: float) -> list[Channel]:
        self.now = now
        self.timeout.check()
        return self.expired


async def test_a_leg_silent_for_the_timeout_is_expired_and_a_talking_one_is_not(made) -> None:
    silent, talking = await made.leg("101"), await made.leg("102")
    watch = Watch(timeout=5)
    watch.registry.add(silent.channel)
    watch.registry.add(talking.channel)
    for second in range(5):
        talking.phone.write_frame(tone(second))
        await until(lambda n=second: talking.channel.rtp.packets_received == n + 1)
        assert watch.at(second) == []
    talking.phone.write_frame(tone(9))
    await until(lambda: talking.channel.rtp.packets_received == 6)
    assert watch.at(5) == [silent.channel]  # silent since the first check, at 0
    assert watch.at(6) == [silent.channel]  # expired once, not every second after


async def test_on_hold_the_leg_is_not_timed_and_its_clock_restarts_after(made) -> None:
    leg = await made.leg("101")
    watch = Watch(timeout=5)
    watch.registry.add(leg.channel)
    watch.at(0)
    leg.channel.rtp.direction = "recvonly"  # the phone put us on hold (it offered sendonly)
    assert watch.at(10) == []
    leg.channel.rtp.direction = "inactive"
    assert watch.at(20) == []
    leg.channel.rtp.direction = "sendrecv"  # taken off hold at 20: five more seconds
    assert watch.at(21) == [] and watch.at(24) == []
    assert watch.at(26) == [leg.channel]


async def test_legs_not_up_are_not_timed(made) -> None:
    ringing = await made.channel("101")  # never answered: not up
    watch = Watch(timeout=1)
    watch.registry.add(ringing)
    assert watch.at(0) == [] and watch.at(100) == []
    ringing.rtp.close()


def test_the_clock_callback_checks_once_a_second() -> None:
    checks: list[float] = []
    timeout = RtpTimeout([], 60, lambda channel: None, lambda: checks.append(0) or 0.0)
    for tick in range(3 * CHECK_EVERY):
        timeout.tick(tick)
    assert len(checks) == 3
