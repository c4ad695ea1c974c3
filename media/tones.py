"""Call-progress tones generated in numpy (what a caller hears while the other side rings)."""

from __future__ import annotations

import numpy as np

from media.dtmf import tone_pair
from media.pcm import INT16_MAX, RATE, Samples


def _tone(freqs: tuple[float, ...], ms: int, level: float) -> Samples:
    t = np.arange(RATE * ms // 1000) / RATE
    wave = np.zeros(len(t))
    for f in freqs:
        wave += np.sin(2 * np.pi * f * t)
    wave /= len(freqs)
    return (wave * level * INT16_MAX).astype(np.int16)


def ringback(region: str = "us", level: float = 0.25) -> Samples:
    """One cadence of ringback: US 440+480 Hz 2 s on 4 s off; EU 425 Hz 1 s on 4 s off."""
    freqs: tuple[float, ...]
    if region == "us":
        on, freqs = 2000, (440.0, 480.0)
    elif region == "eu":
        on, freqs = 1000, (425.0,)
    else:
        raise ValueError(f"unknown ringback region {region!r}")
    return np.concatenate([_tone(freqs, on, level), np.zeros(RATE * 4, dtype=np.int16)])


def dtmf_tone(digit: str, ms: int = 100, level: float = 0.3) -> Samples:
    """An in-band DTMF tone (for peers without RFC 4733 and for tests)."""
    return _tone(tone_pair(digit), ms, level)


def chime(freqs: tuple[float, ...], ms: int = 120, level: float = 0.2) -> Samples:
    """Short beeps of one pitch each, in turn: a conference's join (rising) and leave
    (falling) cues, its PIN prompt."""
    return np.concatenate([_tone((f,), ms, level) for f in freqs])


def beep(hz: float = 1000.0, ms: int = 400, level: float = 0.3) -> Samples:
    """The voicemail beep: record after the tone."""
    return _tone((hz,), ms, level)
