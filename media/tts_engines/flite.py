"""flite (CMU Flite 2.2): the default engine, English only, offline, fast.

Its clustergen voices are the best recognized after a G.711 round trip
(see peers.md): ``rms`` for male voices, ``slt`` for female ones. Flite stretches
durations natively; its pitch features have no reliable effect on these
voices, so pitch goes through the shared sox stage.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from media.tts_engines import run_child
from media.voice import FEMALE, MALE, TtsUnavailable, VoiceParams

VOICES = {FEMALE: "slt", MALE: "rms"}


class FliteEngine:
    name = "flite"
    online = False
    native_rate = True
    native_pitch = False

    def __init__(self, binary: str = "flite", voices: dict[str, str] | None = None) -> None:
        self.binary = binary
        self.voices = dict(voices or VOICES)

    async def supports(self, voice: VoiceParams) -> bool:
        return voice.language == "en" and shutil.which(self.binary) is not None

    def argv(self, text: str, voice: VoiceParams, out: str) -> list[str]:
        return [
            self.binary,
            "-voice",
            self.voices[voice.gender],
            "--setf",
            f"duration_stretch={voice.stretch:g}",
            "-t",
            text,
            "-o",
            out,
        ]

    async def synthesize(self, text: str, voice: VoiceParams) -> bytes:
        if shutil.which(self.binary) is None:
            raise TtsUnavailable(f"flite: {self.binary} is not installed")
        # Not "-o /dev/stdout": flite open()s the path, which fails when stdout is a
        # socket (uvloop's subprocess pipes are socketpairs).
        with tempfile.TemporaryDirectory(prefix="flite-") as tmp:
            out = Path(tmp) / "speech.wav"
            await run_child(self.argv(text, voice, str(out)))
            return out.read_bytes()
