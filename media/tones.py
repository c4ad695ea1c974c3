"""Call-progress tones generated in numpy (what a caller hears while the other side rings)."""

from __future__ import annotations

import numpy as np

RATE = 8000


def _tone(freqs: tuple[float, ...], ms: int, level: float) -> np.ndarray:
    t = np.arange(RATE * ms // 1000) / RATE
    wave = sum(np.sin(2 * np.pi * f * t) for f in freqs) / len(freqs)
    return (wave * level * 32767).astype(np.int16)


def ringback(region: str = "us", level: float = 0.25) -> np.ndarray:
    """One cadence of ringback: US 440+480 Hz 2 s on 4 s off; EU 425 Hz 1 s on 4 s off."""
    if region == "us":
        on, freqs = 2000, (440.0, 480.0)
    elif region == "eu":
        on, freqs = 1000, (425.0,)
    else:
        raise ValueError(f"unknown ringback region {region!r}")
    return np.concatenate([_tone(freqs, on, level), np.zeros(RATE * 4, dtype=np.int16)])


def dtmf_tone(digit: str, ms: int = 100, level: float = 0.3) -> np.ndarray:
    """An in-band DTMF tone (for peers without RFC 4733 and for tests)."""
    rows = {
        "1": 697,
        "2": 697,
        "3": 697,
        "A": 697,
        "4": 770,
        "5": 770,
        "6": 770,
        "B": 770,
        "7": 852,
        "8": 852,
        "9": 852,
        "C": 852,
        "*": 941,
        "0": 941,
        "#": 941,
        "D": 941,
    }
    cols = {
        "1": 1209,
        "4": 1209,
        "7": 1209,
        "*": 1209,
        "2": 1336,
        "5": 1336,
        "8": 1336,
        "0": 1336,
        "3": 1477,
        "6": 1477,
        "9": 1477,
        "#": 1477,
        "A": 1633,
        "B": 1633,
        "C": 1633,
        "D": 1633,
    }
    digit = digit.upper()
    if digit not in rows:
        raise ValueError(f"not a DTMF digit: {digit!r}")
    return _tone((rows[digit], cols[digit]), ms, level)
