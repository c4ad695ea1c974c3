"""Speech engines behind one interface.

An engine turns text into WAV bytes (at the engine's own sample rate) in a
child process; ``media.tts`` does the rest (post-processing to
8 kHz, caching, fallback). Engines apply what prosody they can natively
(``native_rate`` / ``native_pitch``); the shared sox stage applies the rest and
always the volume, so every CPaaS parameter has an effect on every engine.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from media.voice import TtsEngineError, TtsUnavailable, VoiceParams

__all__ = ["ENGINE_NAMES", "Engine", "make_engine", "run_child"]

ENGINE_NAMES = ("flite", "espeak-ng", "gtts")
OFFLINE_ENGINES = ("flite", "espeak-ng")


@runtime_checkable
class Engine(Protocol):
    name: str
    online: bool  # needs the network: skipped when online engines are not allowed
    native_rate: bool  # applies VoiceParams.stretch itself
    native_pitch: bool  # applies VoiceParams.semitones itself

    async def supports(self, voice: VoiceParams) -> bool:
        """Can this engine speak voice.language_code (and is it installed)?"""
        ...

    async def synthesize(self, text: str, voice: VoiceParams) -> bytes:
        """WAV bytes of `text`. TtsUnavailable when the engine cannot
        run here (missing binary, no network), TtsEngineError when it failed."""
        ...


def make_engine(name: str) -> Engine:
    """A default-configured engine by its configuration name."""
    if name == "flite":
        from media.tts_engines.flite import FliteEngine

        return FliteEngine()
    if name == "espeak-ng":
        from media.tts_engines.espeak_ng import EspeakEngine

        return EspeakEngine()
    if name == "gtts":
        from media.tts_engines.gtts import GttsEngine

        return GttsEngine()
    raise ValueError(f"unknown TTS engine {name!r}; choose one of {', '.join(ENGINE_NAMES)}")


async def run_child(
    argv: Sequence[str],
    stdin: bytes | None = None,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> bytes:
    """Run a child to completion off the event loop; its stdout, or TtsEngineError."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env) if env is not None else None,
        )
    except FileNotFoundError:
        raise TtsUnavailable(f"{argv[0]} is not installed") from None
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
    except BaseException as exc:
        # timeout or cancellation: never leave a synthesizer running behind us
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        if isinstance(exc, TimeoutError):
            raise TtsEngineError(
                f"{os.path.basename(argv[0])} took longer than {timeout:g} s"
            ) from None
        raise
    if proc.returncode != 0:
        message = err.decode(errors="replace").strip().splitlines()
        raise TtsEngineError(
            f"{os.path.basename(argv[0])} exited with {proc.returncode}: "
            f"{message[-1] if message else 'no message'}"
        )
    return out
