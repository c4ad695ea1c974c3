"""Bridge: two legs' media crossed each tick, digits relayed, a tap, taking it apart."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
import pytest

from media.clock import MediaClock
from media.ports import PortAllocator
from softswitch.bridge import Bridge
from softswitch.switch import Switch
from tests.legs import Legs, legs, tone, until
from tests.switch_harness import switch_config


@pytest.fixture
async def made() -> AsyncIterator[Legs]:
    async with legs(PortAllocator(31000, 31999)) as made:
        yield made


async def test_what_each_phone_says_the_other_hears_and_the_tap_sees_both(made: Legs) -> None:
    a, b = await made.leg("101"), await made.leg("102")
    clock = MediaClock()  # not started: the test is the clock
    bridge = Bridge(a.channel, b.channel, clock)
    heard: list[tuple[np.ndarray | None, np.ndarray | None]] = []
    bridge.tap = lambda a_said, b_said: heard.append((a_said, b_said))
    bridge.start()
    assert len(clock) == 1
    assert a.channel.bridged is b.channel and b.channel.bridged is a.channel
    assert a.channel.bridge is bridge and b.channel.bridge is bridge

    for n in range(3):
        a.phone.write_frame(tone(n))
        b.phone.write_frame(tone(n + 10))
    await until(lambda: a.channel.rtp.packets_received == 3 and b.channel.rtp.packets_received == 3)
    for n in range(3):
        bridge.tick(n)
    await until(lambda: a.phone.packets_received == 3 and b.phone.packets_received == 3)

    # G.711 is lossy: compare what crossed with what the phones said, within its error
    for n in range(3):
        at_b, at_a = b.phone.read_frame(), a.phone.read_frame()
        assert at_b is not None and np.abs(at_b - tone(n)).max() < 500
        assert at_a is not None and np.abs(at_a - tone(n + 10)).max() < 500
        a_said, b_said = heard[n]
        assert a_said is not None and np.abs(a_said - tone(n)).max() < 500
        assert b_said is not None and np.abs(b_said - tone(n + 10)).max() < 500


async def test_a_silent_leg_sends_silence_and_the_tap_sees_none(made: Legs) -> None:
    a, b = await made.leg("101"), await made.leg("102")
    bridge = Bridge(a.channel, b.channel, MediaClock())
    heard: list[tuple[object, object]] = []
    bridge.tap = lambda a_said, b_said: heard.append((a_said, b_said))
    bridge.start()
    for n in range(3):
        bridge.tick(n)
    assert heard == [(None, None)] * 3
    await until(lambda: a.phone.packets_received == 3 and b.phone.packets_received == 3)
    frames = [b.phone.read_frame() for _ in range(3)]
    assert any(f is not None for f in frames)
    assert all(not f.any() for f in frames if f is not None)


async def test_digits_are_relayed_as_events_and_kept_per_party(made: Legs) -> None:
    a, b = await made.leg("101"), await made.leg("102")
    bridge = Bridge(a.channel, b.channel, MediaClock())
    bridge.start()
    got_b: list[str] = []
    got_a: list[str] = []
    b.phone.on_dtmf = got_b.append
    a.phone.on_dtmf = got_a.append
    a.phone.send_dtmf("5")
    await until(lambda: got_b == ["5"])  # the event, not the tone, crossed the bridge
    b.phone.send_dtmf("#")
    await until(lambda: got_a == ["#"])
    assert a.channel.dtmf_inputs == ["5"] and b.channel.dtmf_inputs == ["#"]


async def test_stop_takes_the_legs_out_and_detach_marks_a_rearrangement(made: Legs) -> None:
    a, b = await made.leg("101"), await made.leg("102")
    clock = MediaClock()
    bridge = Bridge(a.channel, b.channel, clock)
    bridge.start()
    bridge.start()  # idempotent
    assert len(clock) == 1
    assert bridge.other(a.channel) is b.channel and bridge.other(b.channel) is a.channel
    bridge.stop(detach=True)
    assert not bridge.active and bridge.detached and len(clock) == 0
    for leg in (a, b):
        assert leg.channel.bridge is None and leg.channel.bridged is None
        assert leg.channel.rtp.on_dtmf is None and leg.channel.session.on_info_digit is None
    bridge.stop()  # idempotent


async def test_switch_bridge_starts_one_on_its_clock_with_the_tap(made: Legs, tmp_path) -> None:
    switch = Switch(switch_config(tmp_path, 0, 32000))
    try:
        a, b = await made.leg("101"), await made.leg("102")
        tap = lambda a_said, b_said: None  # noqa: E731
        bridge = switch.bridge(a.channel, b.channel, tap=tap)
        assert bridge.active and bridge.clock is switch.clock and bridge.tap is tap
        assert len(switch.clock) == 1 and a.channel.bridge is bridge
        assert switch.bridge(a.channel, b.channel).tap is None
    finally:
        switch.store.close()
