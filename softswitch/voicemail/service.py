"""`Voicemail`: what the switch (a caller to leave a message, *97) and the API (list,
download, mark heard, delete) call; it tells its watchers (MWI) of every change."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from media.asr import transcriber
from media.clock import MediaClock
from media.prompt import load_audio
from media.tts import Tts

from ..channel import Channel
from ..channel_audio import ChannelAudio
from ..config import Config
from ..store.voicemail import MessageCounts, MessageRecord, VoicemailStore
from ..store.webhooks import WebhookStore
from ..webhooks.events import WebhookEvents
from .access import Mailbox, PinGuard
from .box import Boxes
from .deposit import DepositLimits, deposit
from .greeting import Speaker, greeting_audio

log = logging.getLogger("softswitch.voicemail")

Watcher = Callable[[str, MessageCounts], None]


class VoicemailError(Exception):
    """No such box or message."""


class Voicemail:
    def __init__(self, config: Config, store: VoicemailStore, tts: Tts, clock: MediaClock) -> None:
        self.config = config
        self.store = store
        self.boxes = Boxes(config, store)
        self.speaker = Speaker(tts)
        self.clock = clock
        self.limits = DepositLimits(config.voicemail.max_seconds, config.voicemail.silence_seconds)
        self.pin_guard = PinGuard(config.voicemail)
        self._watchers: list[Watcher] = []
        self._tasks: set[asyncio.Task[object]] = set()
        # voicemail.left for the box's account (the runtime shares its webhooks' hooks)
        self.events = WebhookEvents(WebhookStore(store.db))

    def has_box(self, extension: str) -> bool:
        return extension in self.boxes

    def watch(self, watcher: Watcher) -> None:
        """Call `watcher(extension, counts)` after every change of a box's messages."""
        self._watchers.append(watcher)

    def counts(self, extension: str) -> MessageCounts:
        return self.store.counts(extension)

    def _changed(self, extension: str) -> None:
        counts = self.store.counts(extension)
        for watcher in self._watchers:
            watcher(extension, counts)

    # -- a caller leaves a message ------------------------------------------

    async def take_message(self, channel: Channel, extension: str) -> MessageRecord | None:
        """Greeting, beep, recording on an answered `channel`, then hang it up."""
        box = self.boxes.get(extension)
        if box is None:
            raise VoicemailError(f"extension {extension} has no voicemail")
        media = ChannelAudio(channel, self.clock)
        media.start()
        try:
            greeting = await greeting_audio(box, self.store, self.speaker)
            message = await deposit(channel, media, box, greeting, self.store, self.limits)
            if message is not None:  # told as it is stored, before the hang-up's signaling
                self.events.voicemail_left(box.account, message)
        finally:
            media.stop()
            await channel.hangup("voicemail done")
        if message is not None:
            self._changed(extension)
            if self.config.voicemail.transcribe:
                self._spawn(self.transcribe(message))
        return message

    # -- the owner calls in (*97) -------------------------------------------

    async def listen(self, channel: Channel, extension: str) -> None:
        """The PIN and the menu on an answered `channel`, then hang it up."""
        box = self.boxes.get(extension)
        if box is None:
            raise VoicemailError(f"extension {extension} has no voicemail")
        media = ChannelAudio(channel, self.clock)
        media.start()
        mailbox = Mailbox(
            channel,
            media,
            box,
            self.boxes,
            self.store,
            self.speaker,
            self.pin_guard,
            self._changed,
        )
        session = asyncio.ensure_future(mailbox.run())
        hungup = asyncio.ensure_future(asyncio.shield(channel.hungup))
        waits: list[asyncio.Future[Any]] = [session, hungup]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()
            media.stop()
            await channel.hangup("voicemail done")
        if session.done() and not session.cancelled() and session.exception() is not None:
            log.error("voicemail %s: *97 failed", extension, exc_info=session.exception())

    async def transcribe(self, message: MessageRecord) -> None:
        """Add the offline transcript of `message` ([media] transcriber), off the loop."""
        path = self.path(message)
        engine = transcriber(self.config.media.transcriber)
        loop = asyncio.get_running_loop()
        samples = await loop.run_in_executor(None, load_audio, path)
        text = await loop.run_in_executor(None, engine.transcribe, samples)
        self.store.set_transcript(message.id, text)

    def _spawn(self, coro: Coroutine[Any, Any, object]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("voicemail task failed", exc_info=task.exception())

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    # -- the box's owner: the API and *97 -----------------------------------

    def path(self, message: MessageRecord) -> Path:
        box = self.boxes.get(message.extension)
        if box is None:
            raise VoicemailError(f"extension {message.extension} has no voicemail")
        return box.folder / message.file

    def messages(self, extension: str, heard: bool | None = None) -> list[MessageRecord]:
        self._box(extension)
        return self.store.messages(extension, heard)

    def message(self, extension: str, message_id: int) -> MessageRecord:
        self._box(extension)
        found = self.store.message(extension, message_id)
        if found is None:
            raise VoicemailError(f"no message {message_id} in box {extension}")
        return found

    def mark_heard(self, extension: str, message_id: int, heard: bool = True) -> None:
        self.message(extension, message_id)
        self.store.mark_heard(extension, message_id, heard)
        self._changed(extension)

    def delete(self, extension: str, message_id: int) -> None:
        message = self.message(extension, message_id)
        self.store.delete_message(extension, message_id)
        self.path(message).unlink(missing_ok=True)
        self._changed(extension)

    def _box(self, extension: str) -> None:
        if extension not in self.boxes:
            raise VoicemailError(f"extension {extension} has no voicemail")

    def owned_by(self, account_id: str, extension: str) -> bool:
        """May API account `account_id` manage `extension`'s box?"""
        box = self.boxes.get(extension)
        return box is not None and bool(box.account) and box.account == account_id
