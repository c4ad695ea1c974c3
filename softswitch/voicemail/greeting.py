"""What a caller hears before the beep, and the spoken prompts of the *97 menu."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from media.pcm import Samples
from media.prompt import load_audio_async, silence
from media.tts import Tts, TtsError
from media.voice import VoiceParams

from ..store.voicemail import VoicemailStore
from .box import VoicemailBox

log = logging.getLogger("softswitch.voicemail")

VOICE = VoiceParams()


class Speaker:
    """Prompts spoken by the configured engine; a machine without one plays silence
    (the caller still gets the beep and can leave a message)."""

    def __init__(self, tts: Tts) -> None:
        self.tts = tts

    async def say(self, text: str) -> Samples:
        try:
            return await self.tts.speech(text, VOICE)
        except TtsError as exc:  # TtsUnavailable included
            log.warning("voicemail prompt %r not spoken: %s", text[:40], exc)
            return silence(500)

    async def digits(self, text: str) -> Samples | None:
        """A number read digit by digit (a caller's); None when it cannot be read out."""
        try:
            return await self.tts.digits(text, VOICE)
        except TtsError:
            return None


async def greeting_audio(box: VoicemailBox, store: VoicemailStore, speaker: Speaker) -> Samples:
    """The greeting recorded from the phone, else the configured WAV, else the text."""
    record = store.box(box.extension)
    files: list[Path] = []
    if record is not None and record.greeting_file:
        files.append(box.folder / record.greeting_file)
    if box.greeting_file:
        files.append(Path(box.greeting_file))
    for path in files:
        try:
            return await load_audio_async(path)
        except (OSError, ValueError) as exc:
            log.warning("voicemail %s: greeting %s unusable: %s", box.extension, path, exc)
    text = box.greeting_text or box.default_text()
    return np.asarray(await speaker.say(text), dtype=np.int16)
