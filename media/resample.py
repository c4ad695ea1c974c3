"""Streaming 2:1 sample-rate conversion between 8 kHz and 16 kHz legs (numpy).

A narrowband leg (G.711) bridged to a wideband one (G.722, Opus), or mixed into a
wideband conference, is converted one 20 ms frame at a time. Each converter keeps the
last few input samples, so consecutive frames are filtered as one signal (no clicks
at frame edges), and is therefore owned by one stream direction of one leg.

The filter is a 47-tap windowed-sinc (Kaiser, beta 8) half-band low-pass at 4 kHz:
about 70 dB of stop-band rejection, so an 8 kHz leg hears no alias of what a wideband
talker says above 4 kHz, and an upsampled 8 kHz source carries no image above 4 kHz.
A 47-tap convolution per frame costs a few microseconds; soxr or libsamplerate would
add a dependency for a single fixed ratio that this does well enough.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from media.pcm import INT16_MAX, INT16_MIN, Samples

__all__ = ["Downsampler", "Upsampler", "TAPS"]

TAPS = 47


def _half_band(taps: int = TAPS, beta: float = 8.0) -> NDArray[np.float32]:
    n = np.arange(taps) - (taps - 1) / 2
    h = 0.5 * np.sinc(0.5 * n) * np.kaiser(taps, beta)
    taps_f32: NDArray[np.float32] = (h / h.sum()).astype(np.float32)  # unity gain at DC
    return taps_f32


_H = _half_band()
_H.flags.writeable = False
# polyphase halves for the upsampler: even and odd outputs (gain 2 undoes the zeros)
_EVEN = (2 * _H[0::2]).astype(np.float32)
_ODD = (2 * _H[1::2]).astype(np.float32)


def _to_int16(x: NDArray[np.float32]) -> Samples:
    np.rint(x, out=x)
    np.clip(x, INT16_MIN, INT16_MAX, out=x)
    return x.astype(np.int16)


class Upsampler:
    """8 kHz -> 16 kHz, frame by frame: n samples in, 2n out."""

    __slots__ = ("_history",)

    def __init__(self) -> None:
        self._history = np.zeros(len(_EVEN) - 1, dtype=np.float32)

    def __call__(self, frame: Samples) -> Samples:
        x = np.concatenate((self._history, frame.astype(np.float32)))
        self._history = x[-(len(_EVEN) - 1) :]
        even = np.convolve(x, _EVEN, mode="valid")
        odd = np.convolve(x, _ODD, mode="valid")
        out = np.empty(2 * len(frame), dtype=np.float32)
        # the odd phase has one tap less: its outputs are half a sample ahead
        out[0::2] = even
        out[1::2] = odd[1:]
        return _to_int16(out)


class Downsampler:
    """16 kHz -> 8 kHz, frame by frame: 2n samples in, n out."""

    __slots__ = ("_history",)

    def __init__(self) -> None:
        self._history = np.zeros(TAPS - 1, dtype=np.float32)

    def __call__(self, frame: Samples) -> Samples:
        x = np.concatenate((self._history, frame.astype(np.float32)))
        self._history = x[-(TAPS - 1) :]
        return _to_int16(np.convolve(x, _H, mode="valid")[1::2].copy())
