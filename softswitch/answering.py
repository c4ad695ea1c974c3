"""Who answered an outbound call: answering-machine detection on an answered channel.

`AmdMode` is what a campaign or an OTP call asks for (`amd` in the CPaaS bodies):
``off`` runs the flow at once; ``detect`` listens first and hangs up on a machine;
``leave_message`` listens first and, on a machine, waits for the end of its greeting
(the beep, or its silence) before the flow starts, so the whole announcement lands in
the mailbox. `detect` runs `media.amd`'s detector on the frames `ChannelAudio` reads at
each media tick (its listener slot: nothing is added to the tick for calls without
detection) while the channel hears silence.
"""

from __future__ import annotations

import asyncio
import logging
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from media.amd import AmdResult, AmdSettings, AnsweringMachineDetector
from media.pcm import Samples

if TYPE_CHECKING:  # the campaign model imports AmdMode and need not load the channel's
    from .channel import Channel
    from .channel_audio import ChannelAudio

log = logging.getLogger("softswitch.answering")

# beyond the detector's own limits, in case the far end stops sending audio
GRACE = 2.0


class AmdMode(StrEnum):
    OFF = "off"
    DETECT = "detect"
    LEAVE_MESSAGE = "leave_message"


async def detect(
    channel: Channel,
    media: ChannelAudio,
    mode: AmdMode,
    settings: AmdSettings | None = None,
    *,
    grace: float = GRACE,
) -> AmdResult:
    """Run the detector on ``channel``'s received audio until it decides (``mode``
    LEAVE_MESSAGE: until a machine's greeting ended), the channel hangs up or the
    audio stops coming (``grace`` seconds past the detector's own limit); ``media``
    must be started and is left playing silence."""
    detector = AnsweringMachineDetector(settings, until_end=mode is AmdMode.LEAVE_MESSAGE)
    limits = detector.settings
    decided: asyncio.Future[AmdResult] = asyncio.get_running_loop().create_future()

    def hear(frame: Samples) -> None:
        if not decided.done():
            result = detector.feed(frame)
            if result is not None:
                decided.set_result(result)

    media.quiet()
    media.listener = hear
    hungup = asyncio.ensure_future(asyncio.shield(channel.hungup))
    limit = (limits.end_timeout if detector.until_end else limits.total) + grace
    either: list[asyncio.Future[Any]] = [decided, hungup]
    try:
        await asyncio.wait(either, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
    finally:
        hungup.cancel()
        if media.listener is hear:
            media.listener = None
    result = decided.result() if decided.done() else detector.timed_out()
    log.info(
        "amd on %s: %s at %.2f s (%s)", channel.name, result.answered_by, result.at, result.cause
    )
    return result
