"""Text to speech with a prompt cache: int16 8 kHz mono, ready for the Player.

Synthesis never runs on the event loop: the engine is a child process, and a sox
child turns its output into 8 kHz mono int16 (rate and pitch the engine could
not apply itself, then peak normalization plus the volume offset) written
straight into the disk cache. The cache key is text + every voice parameter +
the engine that produced the audio, so a campaign of 10,000 calls with the
same text synthesizes once; a repeat is a dict lookup (memory LRU), or one small
file read after a restart (disk). Concurrent requests for the same key share
one synthesis.

Engine choice: the configured engine first; ``tts_engine_type="neural"`` puts
the best engine (gtts, when online engines are allowed) in front; the offline
engines follow as fallbacks, so an unreachable network or a language flite
cannot speak still produces speech. An online engine that failed for lack of
network is skipped for ``offline_retry`` seconds instead of being retried per
prompt.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from media.pcm import RATE, Samples
from media.tts_engines import ENGINE_NAMES, OFFLINE_ENGINES, Engine, make_engine, run_child
from media.voice import TtsEngineError, TtsError, TtsUnavailable, VoiceParams
from media.wav import AudioError, parse_wav

__all__ = ["Tts", "TtsEngineError", "TtsError", "TtsUnavailable"]

log = logging.getLogger(__name__)

CACHE_VERSION = "1"  # bump when post-processing changes: old files stop matching
PEAK_DBFS = -9.0  # normalized peak level of 'medium' volume
DIGIT_PAUSE_MS = 250
SPELLABLE = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
SEPARATORS = frozenset(" -.,_/")
_TRIM_DB = -40.0  # digit clips: silence threshold relative to their peak
_TRIM_MARGIN = RATE // 100  # samples (10 ms) kept around the sound


class Tts:
    def __init__(
        self,
        cache_dir: Path,
        engine: str = "flite",
        allow_online: bool = True,
        *,
        engines: Mapping[str, Engine] | None = None,
        memory_bytes: int = 64 << 20,
        max_parallel: int | None = None,
        offline_retry: float = 60.0,
        sox: str = "sox",
    ) -> None:
        """`engines` replaces default-configured engines by name (tests, custom setups)."""
        if engine not in ENGINE_NAMES:
            raise ValueError(
                f"unknown TTS engine {engine!r}; choose one of {', '.join(ENGINE_NAMES)}"
            )
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.engine = engine
        self.allow_online = allow_online
        self.memory_bytes = memory_bytes
        self.offline_retry = offline_retry
        self.sox = sox
        self._engines: dict[str, Engine] = dict(engines or {})
        self._memory: OrderedDict[str, Samples] = OrderedDict()
        self._memory_used = 0
        self._inflight: dict[str, asyncio.Future[Samples]] = {}
        self._slots = asyncio.Semaphore(max_parallel or os.cpu_count() or 2)
        self._down_until: dict[str, float] = {}
        self.syntheses = 0  # child syntheses run (the cache's misses)

    # ---------------------------------------------------------------- public API

    async def speech(self, text: str, voice: VoiceParams) -> Samples:
        """`text` spoken with `voice`: read-only int16 at 8 kHz. Raises TtsError for
        bad input (empty text, a language no engine speaks), TtsUnavailable when no
        engine could run."""
        text = _clean(text)
        names = self._candidates(voice)
        # fast path: the preferred engine's entry, no awaits at all
        hit = self._lookup(self._key(names[0], text, voice))
        if hit is not None:
            return hit
        # any rendering already made wins (also a fallback's): a campaign keeps one voice
        for name in names[1:]:
            hit = self._lookup(self._key(name, text, voice))
            if hit is not None:
                return hit
        failures: list[str] = []
        supported = False
        for name in names:
            engine = self._engine(name)
            if not await engine.supports(voice):
                continue
            supported = True
            key = self._key(name, text, voice)
            try:
                return await self._synthesize_once(key, engine, text, voice)
            except TtsUnavailable as exc:
                failures.append(str(exc))
                if engine.online:
                    self._down_until[name] = time.monotonic() + self.offline_retry
                log.warning("tts: %s unavailable, falling back: %s", name, exc)
        if not supported:
            raise TtsError(
                f"language_code {voice.language_code} is not supported by the "
                f"installed speech engines"
            )
        raise TtsUnavailable("no speech engine could run: " + "; ".join(failures))

    async def digits(
        self, digits: str, voice: VoiceParams, *, pause_ms: int = DIGIT_PAUSE_MS
    ) -> Samples:
        """Digits (and letters) spoken one by one with short pauses, e.g. an OTP.

        Each symbol is synthesized once and cached like any prompt; the pause
        follows the voice's rate. Spaces, dashes and dots only group the input.
        """
        symbols = [c for c in digits.upper() if c not in SEPARATORS]
        bad = sorted(set(symbols) - SPELLABLE)
        if bad:
            raise TtsError(f"cannot read out {''.join(bad)!r}: digits and letters only")
        if not symbols:
            raise TtsError("nothing to read out")
        clips = await asyncio.gather(*(self.speech(s, voice) for s in dict.fromkeys(symbols)))
        trimmed = {s: _trim(c) for s, c in zip(dict.fromkeys(symbols), clips, strict=False)}
        pause = np.zeros(int(RATE * pause_ms * voice.stretch / 1000), dtype=np.int16)
        parts: list[Samples] = []
        for i, s in enumerate(symbols):
            if i:
                parts.append(pause)
            parts.append(trimmed[s])
        out = np.concatenate(parts)
        out.flags.writeable = False
        return out

    def cached(self, text: str, voice: VoiceParams) -> Samples | None:
        """What ``speech`` would return from the cache (memory, then disk); no synthesis."""
        try:
            text = _clean(text)
        except TtsError:
            return None
        for name in self._candidates(voice):
            hit = self._lookup(self._key(name, text, voice))
            if hit is not None:
                return hit
        return None

    # ---------------------------------------------------------------- engine choice

    def _candidates(self, voice: VoiceParams) -> list[str]:
        order = [self.engine]
        if voice.engine_type == "neural":
            order.insert(0, "gtts")
        order += OFFLINE_ENGINES
        now = time.monotonic()
        names: list[str] = []
        for name in order:
            if name in names:
                continue
            if name == "gtts" and (not self.allow_online or self._down_until.get(name, 0.0) > now):
                continue
            names.append(name)
        return names

    def _engine(self, name: str) -> Engine:
        engine = self._engines.get(name)
        if engine is None:
            engine = self._engines[name] = make_engine(name)
        return engine

    # ---------------------------------------------------------------- cache

    @staticmethod
    def _key(engine: str, text: str, voice: VoiceParams) -> str:
        raw = "\0".join((CACHE_VERSION, engine, voice.cache_key(), text))
        return hashlib.sha256(raw.encode()).hexdigest()[:40]

    def _path(self, key: str) -> Path:
        return self.cache_dir / f"{key}.wav"

    def _memory_get(self, key: str) -> Samples | None:
        hit = self._memory.get(key)
        if hit is not None:
            self._memory.move_to_end(key)
        return hit

    def _remember(self, key: str, samples: Samples) -> Samples:
        samples.flags.writeable = False  # shared by every caller: nobody may edit it
        old = self._memory.pop(key, None)
        if old is not None:
            self._memory_used -= old.nbytes
        self._memory[key] = samples
        self._memory_used += samples.nbytes
        while self._memory_used > self.memory_bytes and len(self._memory) > 1:
            _, evicted = self._memory.popitem(last=False)
            self._memory_used -= evicted.nbytes
        return samples

    def _lookup(self, key: str) -> Samples | None:
        hit = self._memory_get(key)
        if hit is not None:
            return hit
        path = self._path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            samples, rate = parse_wav(data)
        except AudioError:
            rate = 0
        if rate != RATE:
            log.warning("tts: dropping unreadable cache file %s", path)
            path.unlink(missing_ok=True)
            return None
        return self._remember(key, samples)

    async def _synthesize_once(
        self, key: str, engine: Engine, text: str, voice: VoiceParams
    ) -> Samples:
        future = self._inflight.get(key)
        if future is None:
            future = asyncio.ensure_future(self._synthesize(key, engine, text, voice))
            self._inflight[key] = future
            future.add_done_callback(lambda _: self._inflight.pop(key, None))
        # shield: one waiter giving up must not cancel the synthesis the others await
        return await asyncio.shield(future)

    async def _synthesize(self, key: str, engine: Engine, text: str, voice: VoiceParams) -> Samples:
        async with self._slots:
            encoded = await engine.synthesize(text, voice)
            final = self._path(key)
            tmp = final.with_name(f".{key}.{uuid.uuid4().hex[:8]}.tmp.wav")
            try:
                await run_child([self.sox, *_sox_args(engine, voice, str(tmp))], stdin=encoded)
                data = tmp.read_bytes()
                os.replace(tmp, final)
            finally:
                tmp.unlink(missing_ok=True)
        self.syntheses += 1
        samples, rate = parse_wav(data)
        if rate != RATE or len(samples) == 0:
            raise TtsEngineError(f"{engine.name} produced no usable audio for {text[:40]!r}")
        return self._remember(key, samples)


def _sox_args(engine: Engine, voice: VoiceParams, out: str) -> list[str]:
    """sox: engine WAV on stdin -> 8 kHz mono 16-bit WAV at `out`, prosody applied.

    -D: no dither, so the same input always gives the same cached bytes.
    """
    args = [
        "-V1",
        "-t",
        "wav",
        "-",
        "-D",
        "-t",
        "wav",
        "-e",
        "signed-integer",
        "-b",
        "16",
        "-c",
        "1",
        "-r",
        str(RATE),
        out,
    ]
    if not engine.native_rate and voice.stretch != 1.0:
        args += ["tempo", "-s", f"{1.0 / voice.stretch:.4f}"]
    if not engine.native_pitch and voice.semitones != 0.0:
        args += ["pitch", f"{voice.semitones * 100:.0f}"]
    gain = voice.gain_db
    if gain is None:
        args += ["vol", "0"]  # silent: same length, no sound
    else:
        args += ["gain", "-n", f"{PEAK_DBFS + gain:g}"]
    return args


def _clean(text: str) -> str:
    cleaned = " ".join(text.split())
    if not cleaned:
        raise TtsError("text to speak is empty")
    return cleaned


def _trim(clip: Samples) -> Samples:
    """Cut leading and trailing silence off a clip (engines pad differently)."""
    level = np.abs(clip.astype(np.int32))
    peak = int(level.max()) if len(level) else 0
    if peak == 0:
        return clip
    loud = np.flatnonzero(level > peak * 10 ** (_TRIM_DB / 20))
    return clip[max(0, loud[0] - _TRIM_MARGIN) : loud[-1] + 1 + _TRIM_MARGIN]
