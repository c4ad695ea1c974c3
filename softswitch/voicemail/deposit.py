"""A caller leaves a message: the greeting, the beep, then the recording until the
caller presses #, falls silent, reaches the time limit or hangs up."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

from media.pcm import Samples
from media.player import Player
from media.recorder import WavWriter
from media.tones import beep

from ..channel import Channel, ChannelState
from ..channel_audio import ChannelAudio
from ..store.voicemail import MessageRecord, VoicemailStore
from .box import VoicemailBox
from .recording import EndReason, MessageRecorder

log = logging.getLogger("softswitch.voicemail")

# a "message" shorter than this is a caller who hung up at the beep: not kept
MIN_SECONDS = 0.5


@dataclass(slots=True, frozen=True)
class DepositLimits:
    max_seconds: float
    silence_seconds: float


async def deposit(
    channel: Channel,
    media: ChannelAudio,
    box: VoicemailBox,
    greeting: Samples,
    store: VoicemailStore,
    limits: DepositLimits,
) -> MessageRecord | None:
    """Run the deposit on an answered channel whose `media` is started; the message
    kept (None when the caller left none)."""
    # # skips the greeting straight to the beep, as on most voicemail systems
    await media.play(Player(greeting, stop_digits="#"))
    if channel.state != ChannelState.UP:
        return None
    await media.play(Player(beep()))
    while not media.digits.empty():  # keys pressed during the greeting do not end it
        media.digits.get_nowait()
    if channel.state != ChannelState.UP:
        return None
    created = time.time()
    name = f"{int(created)}-{secrets.token_hex(4)}.wav"
    writer = WavWriter(box.folder / name)
    recorder = MessageRecorder(writer, limits.max_seconds, limits.silence_seconds)
    media.listener = recorder.feed
    keys = asyncio.ensure_future(_until_key(media, "#"))
    waits: list[asyncio.Future[Any]] = [
        keys,
        asyncio.ensure_future(asyncio.shield(channel.hungup)),
        asyncio.ensure_future(asyncio.shield(recorder.ended)),
    ]
    try:
        # the wall clock too: a caller who sends no RTP feeds the recorder no frames
        done, _ = await asyncio.wait(
            waits, timeout=limits.max_seconds + 2, return_when=asyncio.FIRST_COMPLETED
        )
    except asyncio.CancelledError:
        # a shutdown mid-message: what the caller said is on disk; keep it as a message
        # rather than leave a file no list shows, then let the cancellation go on
        media.listener = None
        writer.close()
        recorder.end(EndReason.HANGUP)
        _keep(channel, box, store, recorder, writer, created)
        raise
    finally:
        media.listener = None
        for wait in waits:
            wait.cancel()
        writer.close()
    if keys in done:
        recorder.end(EndReason.KEY)
    elif not done:
        recorder.end(EndReason.TIME_LIMIT)
    recorder.end(EndReason.HANGUP)  # a no-op when something else ended it first
    return _keep(channel, box, store, recorder, writer, created)


def _keep(
    channel: Channel,
    box: VoicemailBox,
    store: VoicemailStore,
    recorder: MessageRecorder,
    writer: WavWriter,
    created: float,
) -> MessageRecord | None:
    """Store the recorded message; a too short one (a hang-up at the beep) is deleted."""
    seconds = recorder.seconds
    reason = recorder.ended.result()
    if seconds < MIN_SECONDS:
        writer.path.unlink(missing_ok=True)
        log.info("voicemail %s: nothing left by %s (%s)", box.extension, channel.name, reason)
        return None
    caller = channel.endpoint.number or channel.endpoint.name
    message = store.add_message(box.extension, caller, created, round(seconds, 2), writer.path.name)
    log.info(
        "voicemail %s: message %d from %s, %.1f s, ended by %s",
        box.extension,
        message.id,
        caller,
        seconds,
        reason,
    )
    return message


async def _until_key(media: ChannelAudio, key: str) -> None:
    while await media.digits.get() != key:
        pass
