"""Listening from the phone (*97): the PIN, then the menu.

1 plays the new messages, 2 the saved ones; after each message 7 deletes it, 9 saves
it (a message played to its end is saved anyway), any other key goes on to the next.
0 records a new greeting. The PIN is asked until it is right or the box locks: after
`pin_tries` wrong PINs (from any phone, counted per box) listening is refused for
`lock_seconds`, and the lock is logged.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from media.player import Player
from media.prompt import load_audio_async
from media.recorder import WavWriter
from media.tones import beep

from ..channel import Channel, ChannelState
from ..channel_audio import ChannelAudio
from ..config import VoicemailConfig
from ..store.voicemail import MessageRecord, VoicemailStore
from ..throttle import FailureThrottle
from .box import Boxes, VoicemailBox
from .greeting import Speaker
from .recording import MessageRecorder

log = logging.getLogger("softswitch.voicemail")

ACCESS_CODE = "*97"
DIGIT_TIMEOUT = 8.0  # seconds to wait for a key (the PIN, a menu choice)
GREETING_SECONDS = 60  # longest greeting recorded from the phone
GREETING_SILENCE = 3


class Choice(StrEnum):
    NEW = "1"
    SAVED = "2"
    DELETE = "7"
    SAVE = "9"
    GREETING = "0"


class PinGuard:
    """Wrong PINs per box; a box with `pin_tries` of them is locked `lock_seconds`."""

    def __init__(self, config: VoicemailConfig) -> None:
        # wrong PINs count for an hour (or the lock, if longer); once the lock ends, one
        # more wrong PIN in that hour locks the box again
        window = max(config.lock_seconds, 3600)
        self._throttle = FailureThrottle(config.pin_tries, window, config.lock_seconds)

    def locked_for(self, extension: str) -> float:
        return self._throttle.blocked_for(extension)

    def failures(self, extension: str) -> int:
        """Wrong PINs for the box in the current window."""
        return self._throttle.failures(extension)

    def failed(self, extension: str) -> bool:
        """Count a wrong PIN; True when this one locked the box."""
        was = self._throttle.blocked_for(extension) > 0
        return self._throttle.failed(extension) and not was

    def succeeded(self, extension: str) -> None:
        self._throttle.clear(extension)


class Mailbox:
    """One *97 session: the owner of `box` on `channel`, `media` started."""

    def __init__(
        self,
        channel: Channel,
        media: ChannelAudio,
        box: VoicemailBox,
        boxes: Boxes,
        store: VoicemailStore,
        speaker: Speaker,
        guard: PinGuard,
        changed: Callable[[str], None],
    ) -> None:
        self.channel = channel
        self.media = media
        self.box = box
        self.boxes = boxes
        self.store = store
        self.speaker = speaker
        self.guard = guard
        self.changed = changed  # tells the lamps

    @property
    def up(self) -> bool:
        return self.channel.state == ChannelState.UP

    async def run(self) -> None:
        if await self.login():
            await self.menu()
        if self.up:
            await self.say("Goodbye.")

    # -- the PIN --------------------------------------------------------------

    async def login(self) -> bool:
        extension = self.box.extension
        while self.up:
            if self.guard.locked_for(extension):
                log.warning(
                    "voicemail %s: *97 from %s refused, box locked for %.0f s",
                    extension,
                    self.channel.name,
                    self.guard.locked_for(extension),
                )
                await self.say("This mailbox is locked. Please try again later.")
                return False
            pin = await self.ask("Please enter your password, then press pound.", 12)
            if pin and self.boxes.check_pin(extension, pin):
                self.guard.succeeded(extension)
                return True
            if not self.up:
                return False
            if self.guard.failed(extension):
                log.warning(
                    "voicemail %s: locked after wrong PINs (last from %s)",
                    extension,
                    self.channel.name,
                )
            else:
                log.info("voicemail %s: wrong PIN from %s", extension, self.channel.name)
            await self.say("That password is not correct.")
        return False

    # -- the menu -------------------------------------------------------------

    async def menu(self) -> None:
        while self.up:
            counts = self.store.counts(self.box.extension)
            prompt = (
                f"You have {counts.new} new and {counts.old} saved messages. "
                "Press 1 for new messages, 2 for saved messages, "
                "0 to record your greeting."
            )
            choice = await self.ask(prompt, 1)
            if choice == Choice.NEW:
                await self.play_messages(heard=False)
            elif choice == Choice.SAVED:
                await self.play_messages(heard=True)
            elif choice == Choice.GREETING:
                await self.record_greeting()
            elif not choice:
                return  # nothing pressed: the caller is done

    async def play_messages(self, heard: bool) -> None:
        messages = self.store.messages(self.box.extension, heard=heard)
        if not messages:
            await self.say("There are no messages.")
            return
        for number, message in enumerate(messages, 1):
            if not self.up:
                return
            await self.play_message(number, message)

    async def play_message(self, number: int, message: MessageRecord) -> None:
        intro = await self.speaker.say(f"Message {number}, from")
        caller = await self.speaker.digits(message.caller) if message.caller else None
        parts = [intro] if caller is None else [intro, caller]
        await self.media.play(Player(parts, stop_digits="1234567890*#"))
        path = self.box.folder / message.file
        try:
            audio = await load_audio_async(path)
        except (OSError, ValueError) as exc:
            log.warning(
                "voicemail %s: message %d unreadable: %s", message.extension, message.id, exc
            )
            return
        result = await self.media.play(Player(audio, stop_digits="79#"))
        if result.reason == "stopped":
            return  # the caller hung up while it played: still new
        if not message.heard:  # heard to the end (or skipped with a key): saved
            self.store.mark_heard(message.extension, message.id)
            self.changed(message.extension)
        digit = result.digit
        if digit is None and self.up:
            digit = await self.ask("Press 7 to delete, 9 to save, pound for the next.", 1)
        if digit == Choice.DELETE:
            self.store.delete_message(message.extension, message.id)
            path.unlink(missing_ok=True)
            self.changed(message.extension)
            await self.say("Deleted.")
        elif digit == Choice.SAVE:
            await self.say("Saved.")

    async def record_greeting(self) -> None:
        await self.say("Record your greeting after the tone, then press pound.")
        await self.media.play(Player(beep()))
        self.drain()
        name = f"greeting-{int(time.time())}-{secrets.token_hex(3)}.wav"
        writer = WavWriter(self.box.folder / name)
        recorder = MessageRecorder(writer, GREETING_SECONDS, GREETING_SILENCE)
        self.media.listener = recorder.feed
        waits: list[asyncio.Future[Any]] = [
            asyncio.ensure_future(self._key("#")),
            asyncio.ensure_future(asyncio.shield(recorder.ended)),
            asyncio.ensure_future(asyncio.shield(self.channel.hungup)),
        ]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.media.listener = None
            for task in waits:
                task.cancel()
            writer.close()
        if recorder.seconds < 0.5 or not self.up:
            writer.path.unlink(missing_ok=True)
            return
        old = self.store.box(self.box.extension)
        self.store.set_greeting(self.box.extension, name)
        if old is not None and old.greeting_file:
            (self.box.folder / old.greeting_file).unlink(missing_ok=True)
        log.info("voicemail %s: new greeting, %.1f s", self.box.extension, recorder.seconds)
        await self.say("Your greeting is saved.")

    # -- prompts and keys -------------------------------------------------------

    async def say(self, text: str) -> None:
        if self.up:
            await self.media.play(Player(await self.speaker.say(text)))

    async def ask(self, text: str, max_digits: int) -> str:
        """Speak `text` (a key interrupts it) and collect up to `max_digits` keys, ended
        early by # or a pause; "" when nothing was pressed."""
        self.drain()
        if not self.up:
            return ""
        prompt = Player(await self.speaker.say(text), stop_digits="0123456789*#")
        self.media.background(prompt)
        typed = ""
        while len(typed) < max_digits and self.up:
            try:
                if not prompt.done:  # no timeout while the question is being asked
                    digit_task = asyncio.ensure_future(self.media.digits.get())
                    prompt_task = asyncio.ensure_future(prompt.wait())
                    try:
                        done, _ = await asyncio.wait(
                            [digit_task, prompt_task], return_when=asyncio.FIRST_COMPLETED
                        )
                    finally:
                        prompt_task.cancel()
                        if not digit_task.done():
                            digit_task.cancel()
                    if digit_task not in done:
                        continue
                    digit = digit_task.result()
                else:
                    digit = await asyncio.wait_for(self.media.digits.get(), DIGIT_TIMEOUT)
            except TimeoutError:
                break
            if digit == "#":
                break
            typed += digit
        self.media.quiet()
        return typed

    def drain(self) -> None:
        while not self.media.digits.empty():
            self.media.digits.get_nowait()

    async def _key(self, key: str) -> None:
        while await self.media.digits.get() != key:
            pass
