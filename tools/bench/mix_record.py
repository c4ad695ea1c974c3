"""Mixing + recording cost per 20 ms media tick, for 1,000 legs.

Scenarios (each leg sends one 160-sample frame per tick):
- calls:       500 two-party calls; per call a Mixer (each hears the other) and a
               CallRecorder "both" (mixed + agent + customer WAV files, 3 files/call)
- calls-st:    the same with a stereo recording (agent left, customer right)
- conferences: 100 conferences of 10 parties; each mixed in one Mixer with a
               muted recorder party that hears everyone, written to one WAV
- mix-only:    the 500 calls' Mixers, no recording
- record-only: the 500 calls' CallRecorders, no mixing

CPU is user+system time of this process (disk writes included), per tick; the
files go to a temporary directory that is removed afterwards. Target: < 5 ms per
tick for 1,000 legs.

Run: .venv/bin/python tools/bench/mix_record.py [--legs 1000] [--seconds 10] [--dir DIR]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from media.mixer import Mixer
from media.pcm import FRAME, FRAME_MS
from media.recorder import CallRecorder, WavWriter


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def frames(count: int, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(FRAME) * 3000).astype(np.int16) for _ in range(count)]


def run(name: str, tick: Callable[[int], None], ticks: int, finish: Callable[[], None]) -> None:
    per_tick: list[float] = []
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    for n in range(ticks):
        t0 = time.perf_counter()
        tick(n)
        per_tick.append((time.perf_counter() - t0) * 1e3)
    cpu = cpu_seconds() - cpu0
    wall = time.perf_counter() - wall0
    t0 = time.perf_counter()
    finish()
    close_ms = (time.perf_counter() - t0) * 1e3
    ms = np.array(per_tick)
    print(
        f"{name:<12} CPU {cpu / ticks * 1e3:6.2f} ms/tick   wall {wall / ticks * 1e3:6.2f} ms/tick "
        f"(p50 {np.percentile(ms, 50):5.2f}, p99 {np.percentile(ms, 99):5.2f}, "
        f"max {ms.max():6.2f})   "
        f"{cpu / ticks / FRAME_MS * 1e5:5.1f}% of a core   close {close_ms:6.1f} ms"
    )


def calls(
    legs: int, ticks: int, directory: Path, *, mix: bool, record: bool, stereo: bool = False
) -> tuple:
    pairs = legs // 2
    pool = frames(256)
    mixers: list[Mixer] = []
    recorders: list[CallRecorder] = []
    for i in range(pairs):
        m = Mixer()
        m.add("agent")
        m.add("customer")
        mixers.append(m)
        if record:
            recorders.append(CallRecorder(directory, f"call{i:04d}", "both", stereo=stereo))

    def tick(n: int) -> None:
        for i in range(pairs):
            agent = pool[(i + n) & 255]
            customer = pool[(i + n + 97) & 255]
            if mix:
                mixers[i].mix({"agent": agent, "customer": customer})
            if record:
                recorders[i].feed(agent, customer)

    def finish() -> None:
        for r in recorders:
            r.close()

    return tick, ticks, finish


def conferences(legs: int, ticks: int, directory: Path, size: int = 10) -> tuple:
    count = legs // size
    pool = frames(256)
    rooms: list[tuple[Mixer, WavWriter]] = []
    for c in range(count):
        m = Mixer()
        for p in range(size):
            m.add(p)
        m.add("rec", muted=True)  # hears everyone: the conference recording
        rooms.append((m, WavWriter(directory / f"conf{c:03d}.wav")))
    inputs = [{p: pool[(c * size + p) & 255] for p in range(size)} for c in range(count)]

    def tick(n: int) -> None:
        for (m, writer), frames_in in zip(rooms, inputs, strict=False):
            writer.write(m.mix(frames_in)["rec"])

    def finish() -> None:
        for _, writer in rooms:
            writer.close()

    return tick, ticks, finish


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--legs", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--dir", type=Path, default=None, help="where to write (default: a temp dir)"
    )
    args = parser.parse_args()
    ticks = int(args.seconds * 1000 / FRAME_MS)
    print(f"{args.legs} legs, {ticks} ticks ({args.seconds:g} s of audio) per scenario")
    scenarios = {
        "calls": lambda d: calls(args.legs, ticks, d, mix=True, record=True),
        "calls-st": lambda d: calls(args.legs, ticks, d, mix=True, record=True, stereo=True),
        "conferences": lambda d: conferences(args.legs, ticks, d),
        "mix-only": lambda d: calls(args.legs, ticks, d, mix=True, record=False),
        "record-only": lambda d: calls(args.legs, ticks, d, mix=False, record=True),
    }
    for name, build in scenarios.items():
        directory = Path(tempfile.mkdtemp(prefix="mix_record-", dir=args.dir))
        try:
            run(name, *build(directory))
        finally:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
