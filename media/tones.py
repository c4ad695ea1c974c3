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


# The default music on hold: a melody over a steady 660 Hz pad. The pad carries most of
# the energy, so whatever the melody does, the strongest frequency a listener hears is
# HOLD_MUSIC_HZ (a test on the far side of a call can check it).
HOLD_MUSIC_HZ = 660.0
_MELODY = (392.0, 440.0, 523.25, 587.33, 523.25, 440.0, 392.0, 329.63)  # G A C D C A G E
_NOTE_MS = 400


def hold_music(level: float = 0.3) -> Samples:
    """Eight soft notes (3.2 s, looped by the player) over the HOLD_MUSIC_HZ pad."""
    n = RATE * _NOTE_MS // 1000
    t = np.arange(n) / RATE
    # attack and release of 40 ms each: no clicks between notes
    ramp = RATE * 40 // 1000
    envelope = np.ones(n)
    envelope[:ramp] = np.linspace(0.0, 1.0, ramp)
    envelope[-ramp:] = np.linspace(1.0, 0.0, ramp)
    notes = [envelope * np.sin(2 * np.pi * f * t) for f in _MELODY]
    melody = np.concatenate(notes)
    pad = np.sin(2 * np.pi * HOLD_MUSIC_HZ * np.arange(len(melody)) / RATE)
    wave = 0.7 * pad + 0.3 * melody
    return (wave * level * INT16_MAX).astype(np.int16)
