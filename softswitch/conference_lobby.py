"""The way into a conference room: the PIN asked for (three tries), a caller refused
hung up. Cues are tones (no speech engine on the switch): two short high beeps ask
for the PIN, a low one says it was wrong; the PIN ends with its last digit or ``#``."""

from __future__ import annotations

import asyncio

from media.clock import MediaClock
from media.player import Player
from media.tones import chime

from .channel import Channel
from .channel_audio import ChannelAudio

PIN_TRIES = 3
PIN_TIMEOUT = 10.0  # seconds for a whole PIN before the try counts as wrong
PIN_PROMPT = chime((1000.0, 1000.0), ms=150)
WRONG_PIN = chime((300.0,), ms=500)


async def admitted(channel: Channel, pin: str, clock: MediaClock) -> bool:
    """Whether the caller on ``channel`` (answered) typed ``pin`` within PIN_TRIES."""
    if not pin:
        return True
    audio = ChannelAudio(channel, clock)
    audio.start()
    try:
        for _ in range(PIN_TRIES):
            audio.background(Player(PIN_PROMPT))
            try:
                entered = await asyncio.wait_for(_typed(audio.digits, len(pin)), PIN_TIMEOUT)
            except TimeoutError:
                entered = None
            if entered == pin:
                return True
            await audio.play(Player(WRONG_PIN))
        return False
    finally:
        audio.stop()


async def _typed(digits: asyncio.Queue[str], length: int) -> str:
    entered = ""
    while len(entered) < length:
        digit = await digits.get()
        if digit == "#":
            if entered:
                break
            continue  # the "#" that ended the previous try
        entered += digit
    return entered
