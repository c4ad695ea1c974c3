"""gTTS (Google Translate's speech endpoint): natural voices, needs the network.

Optional and online: the request runs in a child Python process (the gTTS
library is blocking), its MP3 is decoded by an ffmpeg child. Without a network
the engine raises TtsUnavailable with a message that says so, and ``media.tts``
falls back to an offline engine. Google offers one voice per language, so the
voice's gender has no effect here; rate and pitch go through the sox stage.
"""

from __future__ import annotations

import os
import shutil
import sys

from media.tts_engines import run_child
from media.voice import TtsEngineError, TtsUnavailable, VoiceParams

NETWORK_EXIT = 3
# Regional accents are chosen by the Google domain, not by the language code.
TLDS = {
    "en-GB": "co.uk",
    "en-AU": "com.au",
    "en-IN": "co.in",
    "en-ZA": "co.za",
    "en-IE": "ie",
    "en-NZ": "co.nz",
    "en-CA": "ca",
    "fr-CA": "ca",
    "pt-BR": "com.br",
    "pt-PT": "pt",
    "es-MX": "com.mx",
    "es-ES": "es",
    "es-US": "com",
}
ALIASES = {"cmn-CN": "zh-CN", "cmn": "zh-CN", "arb": "ar", "nb-NO": "no", "nb": "no", "he": "iw"}

# The child's own braces are doubled: only NETWORK_EXIT is filled in here.
_CHILD = rf"""
import sys
from gtts import gTTS
from gtts.tts import gTTSError
import requests
lang, tld, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
text = sys.stdin.buffer.read().decode()
try:
    gTTS(text, lang=lang, tld=tld, lang_check=False, timeout=timeout).write_to_fp(sys.stdout.buffer)
except (gTTSError, requests.RequestException, OSError) as exc:
    print(f"{{type(exc).__name__}}: {{exc}}", file=sys.stderr)
    sys.exit({NETWORK_EXIT})
"""


class GttsEngine:
    name = "gtts"
    online = True
    native_rate = False
    native_pitch = False

    def __init__(
        self,
        *,
        proxy: str | None = None,
        timeout: float = 10.0,
        python: str = sys.executable,
        ffmpeg: str = "ffmpeg",
    ) -> None:
        """`proxy` (an http:// URL) routes the requests; tests point it at a closed port."""
        self.proxy = proxy
        self.timeout = timeout
        self.python = python
        self.ffmpeg = ffmpeg

    def language_for(self, voice: VoiceParams) -> str | None:
        try:
            from gtts.lang import tts_langs
        except ImportError:
            return None
        langs = tts_langs()
        for candidate in (
            voice.language_code,
            ALIASES.get(voice.language_code),
            voice.language,
            ALIASES.get(voice.language),
        ):
            if candidate and candidate in langs:
                return candidate
        return None

    async def supports(self, voice: VoiceParams) -> bool:
        return self.language_for(voice) is not None and shutil.which(self.ffmpeg) is not None

    async def synthesize(self, text: str, voice: VoiceParams) -> bytes:
        lang = self.language_for(voice)
        if lang is None:
            raise TtsUnavailable(
                f"gtts cannot speak {voice.language_code} (or gTTS is not installed)"
            )
        env = dict(os.environ)
        if self.proxy is not None:
            env.update(
                HTTPS_PROXY=self.proxy,
                HTTP_PROXY=self.proxy,
                https_proxy=self.proxy,
                http_proxy=self.proxy,
                NO_PROXY="",
                no_proxy="",
            )
        tld = TLDS.get(voice.language_code, "com")
        try:
            mp3 = await run_child(
                [self.python, "-c", _CHILD, lang, tld, f"{self.timeout:g}"],
                stdin=text.encode(),
                env=env,
                timeout=self.timeout * 3 + 10,
            )
        except TtsEngineError as exc:
            if f"exited with {NETWORK_EXIT}:" in str(exc):
                raise TtsUnavailable(
                    f"gtts: no network, cannot reach translate.google.{tld} "
                    f"({str(exc).split(': ', 1)[1]})"
                ) from None
            raise
        if not mp3:
            raise TtsEngineError("gtts returned no audio")
        return await run_child(
            [
                self.ffmpeg,
                "-nostdin",
                "-v",
                "error",
                "-i",
                "pipe:0",
                "-f",
                "wav",
                "-acodec",
                "pcm_s16le",
                "pipe:1",
            ],
            stdin=mp3,
        )
