"""ChannelAudio: prompts out, the caller's frames in, digits from events and tones in one queue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import pytest

from media.clock import MediaClock
from media.player import Player
from media.ports import PortAllocator
from media.tones import dtmf_tone
from softswitch.channel_audio import ChannelAudio
from tests.legs import Leg, info_digit, legs, tone, until


@pytest.fixture
async def leg() -> AsyncIterator[Leg]:
    async with legs(PortAllocator(33000, 33999)) as made:
        yield await made.leg()


def frames(audio: np.ndarray) -> list[np.ndarray]:
    return [audio[i : i + 160] for i in range(0, len(audio) - 159, 160)]


async def say(leg: Leg, audio: ChannelAudio, said: list[np.ndarray]) -> None:
    """The phone says ``said`` a frame per tick, as a phone does (no burst)."""
    for n, frame in enumerate(said):
        before = leg.channel.rtp.packets_received
        leg.phone.write_frame(frame)
        await until(lambda: leg.channel.rtp.packets_received == before + 1)  # noqa: B023
        audio.tick(n)
    for n in range(3):  # what the jitter buffer still holds
        audio.tick(len(said) + n)


async def test_a_prompt_is_played_frame_by_frame_then_silence(leg: Leg) -> None:
    clock = MediaClock()
    audio = ChannelAudio(leg.channel, clock)
    audio.start()
    assert len(clock) == 1
    playing = asyncio.ensure_future(audio.play(Player(np.concatenate([tone(0), tone(1)]))))
    await asyncio.sleep(0)
    for n in range(4):
        audio.tick(n)
    result = await playing
    assert result.reason == "finished" and audio.player is None
    await until(lambda: leg.phone.packets_received == 4)
    heard = [leg.phone.read_frame() for _ in range(4)]
    assert heard[0] is not None and np.abs(heard[0] - tone(0)).max() < 500
    assert heard[1] is not None and np.abs(heard[1] - tone(1)).max() < 500
    assert all(f is None or not f.any() for f in heard[2:])


async def test_event_digits_queue_up_and_stop_a_barge_in_prompt(leg: Leg) -> None:
    audio = ChannelAudio(leg.channel, MediaClock())
    audio.start()
    audio.background(Player(tone(0), repeat=None, stop_digits="0123456789"))
    player = audio.player
    assert player is not None
    leg.phone.send_dtmf("3")
    assert await asyncio.wait_for(audio.digits.get(), 3) == "3"
    assert audio.pressed == ["3"]
    result = await asyncio.wait_for(player.wait(), 1)
    assert result.reason == "dtmf" and result.digit == "3"
    info_digit(leg.channel, "9")  # a SIP INFO digit lands in the same queue
    assert audio.digits.get_nowait() == "9" and audio.pressed == ["3", "9"]


async def test_inband_tones_are_digits_too_and_the_listener_hears_the_caller(leg: Leg) -> None:
    audio = ChannelAudio(leg.channel, MediaClock())
    heard: list[np.ndarray] = []
    audio.listener = heard.append
    audio.start()
    said = frames(dtmf_tone("4", 100)) + [np.zeros(160, dtype=np.int16)] * 3
    await say(leg, audio, said)
    assert audio.pressed == ["4"] and audio.digits.get_nowait() == "4"
    assert len(heard) >= len(said)


async def test_a_tone_just_after_the_same_key_as_an_event_counts_once(leg: Leg) -> None:
    audio = ChannelAudio(leg.channel, MediaClock())
    audio.start()
    info_digit(leg.channel, "4")
    await say(leg, audio, frames(dtmf_tone("4", 100)) + [np.zeros(160, dtype=np.int16)] * 3)
    assert audio.pressed == ["4"]


async def test_stop_lets_the_digits_go_and_ends_the_prompt(leg: Leg) -> None:
    clock = MediaClock()
    audio = ChannelAudio(leg.channel, clock)
    audio.start()
    player = Player(tone(0), repeat=None)
    audio.background(player)
    audio.stop()
    assert len(clock) == 0 and audio.player is None and player.done
    assert leg.channel.rtp.on_dtmf is None and leg.channel.session.on_info_digit is None
