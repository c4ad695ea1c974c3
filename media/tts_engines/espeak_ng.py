"""espeak-ng: offline, about a hundred languages, robotic but small.

Everything prosodic is native: ``-s`` words per minute, ``-p`` pitch 0..99,
``+f2`` voice variant for female voices. The text goes on stdin so that a
prompt starting with '-' is never read as an option.
"""

from __future__ import annotations

import asyncio
import shutil

from media.tts_engines import run_child
from media.voice import FEMALE, MALE, TtsUnavailable, VoiceParams

BASE_WPM = 165  # a little under espeak's 175: clearer over the phone
PITCH_PER_SEMITONE = 6  # espeak pitch units (50 = default) per semitone, roughly
VARIANTS = {FEMALE: "+f2", MALE: ""}  # espeak's default voice is male
# Polly language codes espeak-ng names differently
ALIASES = {"arb": "ar", "cmn-cn": "cmn", "nb-no": "nb", "iw": "he"}


class EspeakEngine:
    name = "espeak-ng"
    online = False
    native_rate = True
    native_pitch = True

    def __init__(self, binary: str = "espeak-ng") -> None:
        self.binary = binary
        self._languages: set[str] | None = None
        self._probe: asyncio.Future[set[str]] | None = None

    async def languages(self) -> set[str]:
        """espeak-ng's language codes, lower case (asked once, in a child)."""
        if self._languages is None:
            # concurrent first requests share one probe instead of forking one each
            if self._probe is None:
                self._probe = asyncio.ensure_future(self._list_languages())
            self._languages = await asyncio.shield(self._probe)
        return self._languages

    async def _list_languages(self) -> set[str]:
        if shutil.which(self.binary) is None:
            return set()
        out = await run_child([self.binary, "--voices"])
        lines = out.decode(errors="replace").splitlines()[1:]
        return {line.split()[1].lower() for line in lines if len(line.split()) > 1}

    async def language_for(self, voice: VoiceParams) -> str | None:
        langs = await self.languages()
        code = voice.language_code.lower()
        for candidate in (code, ALIASES.get(code), voice.language, ALIASES.get(voice.language)):
            if candidate and candidate in langs:
                return candidate
        return None

    async def supports(self, voice: VoiceParams) -> bool:
        return await self.language_for(voice) is not None

    async def synthesize(self, text: str, voice: VoiceParams) -> bytes:
        language = await self.language_for(voice)
        if language is None:
            raise TtsUnavailable(f"espeak-ng cannot speak {voice.language_code}")
        wpm = round(BASE_WPM / voice.stretch)
        pitch = max(0, min(99, round(50 + PITCH_PER_SEMITONE * voice.semitones)))
        return await run_child(
            [
                self.binary,
                "-v",
                language + VARIANTS[voice.gender],
                "-s",
                str(wpm),
                "-p",
                str(pitch),
                "--stdout",
                "--stdin",
            ],
            stdin=text.encode(),
        )
