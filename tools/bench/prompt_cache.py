"""Prompt cache: first synthesis vs cached hit, per engine.

Run: .venv/bin/python tools/bench/prompt_cache.py

First synthesis = engine child + sox child + disk write (a cold cache dir).
Memory hit = Tts.speech() of the same text again (the path every call of a
campaign takes). Disk hit = a fresh Tts on the same directory (after a restart).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from media.pcm import RATE
from media.tts import Tts
from media.voice import VoiceParams

TEXT = "Hello, this is a reminder that your appointment is tomorrow at ten in the morning."
HITS = 20_000


async def bench(engine: str, root: Path) -> None:
    voice = VoiceParams.parse(voice="Joanna")
    firsts = []
    for i in range(5):
        tts = Tts(root / f"{engine}-{i}", engine=engine, allow_online=False)
        start = time.perf_counter()
        audio = await tts.speech(TEXT, voice)
        firsts.append(time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(HITS):
        await tts.speech(TEXT, voice)
    memory_hit = (time.perf_counter() - start) / HITS
    start = time.perf_counter()
    for _ in range(HITS):
        tts.cached(TEXT, voice)
    sync_hit = (time.perf_counter() - start) / HITS
    disk = []
    for _ in range(50):
        fresh = Tts(root / f"{engine}-0", engine=engine, allow_online=False)
        start = time.perf_counter()
        await fresh.speech(TEXT, voice)
        disk.append(time.perf_counter() - start)
    concurrent = Tts(root / f"{engine}-c", engine=engine, allow_online=False)
    start = time.perf_counter()
    await asyncio.gather(*(concurrent.speech(TEXT, voice) for _ in range(100)))
    together = time.perf_counter() - start
    print(
        f"{engine:<10} prompt {len(audio) / RATE:4.1f} s audio | first synthesis "
        f"{statistics.median(firsts) * 1e3:6.1f} ms (median of 5) | memory hit "
        f"{memory_hit * 1e6:5.1f} us (speech) {sync_hit * 1e6:5.1f} us (cached) | disk hit "
        f"{statistics.median(disk) * 1e6:6.1f} us | 100 concurrent same-text requests "
        f"{together * 1e3:6.1f} ms, {concurrent.syntheses} synthesis"
    )


async def digits(root: Path) -> None:
    tts = Tts(root / "digits", allow_online=False)
    voice = VoiceParams.parse(voice="Matthew")
    start = time.perf_counter()
    await tts.digits("4821", voice)
    first = time.perf_counter() - start
    n = 2000
    start = time.perf_counter()
    for i in range(n):
        await tts.digits(f"{i:06d}", voice)
    warm = (time.perf_counter() - start) / n
    print(
        f"digits     first OTP '4821' {first * 1e3:6.1f} ms | any 6-digit OTP once the 10 digits "
        f"are cached {warm * 1e6:6.1f} us"
    )


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for engine in ("flite", "espeak-ng"):
            await bench(engine, Path(tmp))
        await digits(Path(tmp))


if __name__ == "__main__":
    asyncio.run(main())
