"""G.711 encode+decode speed per 20 ms frame, as multiples of real time per stream.

Run: .venv/bin/python tools/bench/g711.py
"""

from __future__ import annotations

import time

import numpy as np

from media import g711
from media.pcm import FRAME, FRAME_SECONDS


def bench(name: str, encode, decode, frames: int = 50_000) -> float:
    rng = np.random.default_rng(1)
    pcm = [(rng.standard_normal(FRAME) * 4000).astype(np.int16) for _ in range(64)]
    start = time.perf_counter()
    for i in range(frames):
        decode(encode(pcm[i & 63]))
    elapsed = time.perf_counter() - start
    per_frame = elapsed / frames
    x_real_time = FRAME_SECONDS / per_frame
    print(
        f"{name:<22} {per_frame * 1e6:7.2f} us per frame (encode+decode)   "
        f"{x_real_time:9.0f}x real time per stream"
    )
    return x_real_time


def main() -> None:
    bench("PCMU", g711.ulaw_encode, g711.ulaw_decode)
    bench("PCMA", g711.alaw_encode, g711.alaw_decode)
    bench(
        "PCMU->PCMA transcode",
        lambda f: g711.transcode(g711.ulaw_encode(f), "PCMU", "PCMA"),
        g711.alaw_decode,
    )
    payload = g711.ulaw_encode(np.zeros(FRAME, np.int16))
    n = 100_000
    start = time.perf_counter()
    for _ in range(n):
        g711.transcode(payload, "PCMU", "PCMA")
    per = (time.perf_counter() - start) / n
    print(
        f"{'byte transcode only':<22} {per * 1e6:7.2f} us per frame              "
        f"{FRAME_SECONDS / per:9.0f}x real time per stream"
    )


if __name__ == "__main__":
    main()
