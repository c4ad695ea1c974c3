"""softswitch.answering: the detector fed from a real channel's received RTP through
ChannelAudio's listener, ticked by hand."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import pytest

from media.amd import AmdSettings, AnsweredBy
from media.clock import MediaClock
from media.pcm import FRAME, RATE
from media.ports import PortAllocator
from softswitch.answering import AmdMode, detect
from softswitch.channel_audio import ChannelAudio
from tests.legs import Leg, legs, until


@pytest.fixture
async def leg() -> AsyncIterator[Leg]:
    async with legs(PortAllocator(34000, 34999)) as made:
        yield await made.leg()


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.int16)


def voice(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(3)
    return np.round(rng.normal(0, 3000, int(seconds * RATE))).astype(np.int16)


def beep(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return np.round(6000 * np.sin(2 * np.pi * 1000.0 * t)).astype(np.int16)


async def say(leg: Leg, audio: ChannelAudio, said: np.ndarray, task: asyncio.Task) -> int:
    """The phone says ``said`` a frame per tick until the task is done; frames sent."""
    sent = 0
    for start in range(0, len(said) - FRAME + 1, FRAME):
        if task.done():
            break
        before = leg.channel.rtp.packets_received
        leg.phone.write_frame(said[start : start + FRAME])
        await until(lambda: leg.channel.rtp.packets_received == before + 1)  # noqa: B023
        audio.tick(sent)
        sent += 1
        await asyncio.sleep(0)
    return sent


async def test_a_person_is_heard_through_the_channel(leg: Leg) -> None:
    audio = ChannelAudio(leg.channel, MediaClock())
    audio.start()
    task = asyncio.ensure_future(detect(leg.channel, audio, AmdMode.DETECT))
    await asyncio.sleep(0)
    assert audio.listener is not None
    await say(leg, audio, np.concatenate([silence(0.3), voice(0.5), silence(1.5)]), task)
    result = await asyncio.wait_for(task, 3)
    assert result.answered_by is AnsweredBy.HUMAN
    # the word, then after_greeting_silence; the jitter buffer may hold back a frame
    assert result.at == pytest.approx(0.3 + 0.5 + 0.8, abs=0.07)
    assert audio.listener is None and audio.active  # the flow goes on with the channel


async def test_leave_message_waits_for_the_beep_to_end(leg: Leg) -> None:
    audio = ChannelAudio(leg.channel, MediaClock())
    audio.start()
    task = asyncio.ensure_future(detect(leg.channel, audio, AmdMode.LEAVE_MESSAGE))
    greeting = np.concatenate([silence(0.2), voice(2.5), silence(0.4), beep(0.5), silence(2.0)])
    await say(leg, audio, greeting, task)
    result = await asyncio.wait_for(task, 3)
    assert result.answered_by is AnsweredBy.MACHINE_END_BEEP
    assert result.beep_at is not None and abs(result.beep_at - 3.1) < 0.1
    assert result.at == pytest.approx(3.6, abs=0.07)  # the tone's end


async def test_the_far_end_hanging_up_ends_the_listening(leg: Leg) -> None:
    audio = ChannelAudio(leg.channel, MediaClock())
    audio.start()
    task = asyncio.ensure_future(detect(leg.channel, audio, AmdMode.DETECT))
    await say(leg, audio, silence(0.4), task)
    leg.channel.failed("bye", 200)
    result = await asyncio.wait_for(task, 3)
    assert result.answered_by is AnsweredBy.UNKNOWN and result.cause == "NOAUDIO"
    assert audio.listener is None


async def test_no_audio_at_all_gives_up_after_the_detector_s_total(leg: Leg) -> None:
    audio = ChannelAudio(leg.channel, MediaClock())
    audio.start()
    settings = AmdSettings(total=0.2, initial_silence=0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await asyncio.wait_for(
        detect(leg.channel, audio, AmdMode.DETECT, settings, grace=0.1), 3
    )
    assert result.answered_by is AnsweredBy.UNKNOWN
    assert loop.time() - started < 1.0
