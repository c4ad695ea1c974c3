"""The audio format every media module shares: 8 kHz mono 16-bit linear PCM, 20 ms frames.

G.711 samples at 8 kHz, and 20 ms is the packet time peers use unless told
otherwise; so one frame (160 samples) is one RTP packet, one media-clock tick and
one step of a player or a recorder. Prompts, recordings and tones work in this
format; only the edges convert (resampling of loaded files, the recognizer's 16 kHz
model, and wideband legs: a G.722 or Opus session's frames are 16 kHz, 320 samples,
converted by the session or `media.resample`, see media.codecs).
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "FRAME",
    "FRAME_MS",
    "FRAME_SECONDS",
    "INT16_MAX",
    "INT16_MIN",
    "RATE",
    "SAMPLE_BYTES",
    "SILENCE",
    "Samples",
    "saturate",
]

Samples: TypeAlias = NDArray[np.int16]
"""Mono 16-bit audio at RATE: a frame, a prompt, a recording."""

RATE = 8000  # samples per second (and RTP timestamp units per second)
FRAME_MS = 20
FRAME_SECONDS = FRAME_MS / 1000
FRAME = RATE * FRAME_MS // 1000  # 160 samples
SAMPLE_BYTES = 2  # int16, little-endian in WAV files
INT16_MIN = -32768
INT16_MAX = 32767

SILENCE: Samples = np.zeros(FRAME, dtype=np.int16)
"""One silent frame, shared: read-only, so nobody can make it loud for everyone."""
SILENCE.flags.writeable = False


def saturate(x: NDArray[np.int32]) -> Samples:
    """int32 samples clipped into int16 range, as int16 (no wraparound); clobbers `x`."""
    # maximum+minimum: np.clip costs three times as much on frame-sized arrays
    np.maximum(x, INT16_MIN, out=x)
    np.minimum(x, INT16_MAX, out=x)
    return x.astype(np.int16)
