"""In-band DTMF detection (tones in the audio) with ITU-T Q.24-style checks.

The audio is cut into 102-sample blocks (12.75 ms; bins 78 Hz wide, so the
row tones 70 Hz apart fall near each other's first null) every 51 samples.
Each block's power at the eight DTMF frequencies and at their second
harmonics is what a Goertzel filter per frequency computes; here all sixteen
single-bin DFTs of all the blocks of a frame are one matrix product, which is
the same arithmetic done in one numpy call instead of a Python loop.

A block holds a digit only if:
- the strongest row and column tones are both above the minimum level;
- twist: the column tone is at most 8 dB weaker (normal twist) and at most
  4 dB stronger (reverse twist) than the row tone;
- relative peak: each is 6 dB above the other tones of its group;
- harmonics: neither tone has a second harmonic within 6 dB of it (voiced
  speech is rich in harmonics; a DTMF generator is not). Three row harmonics
  (2x697, 2x770, 2x852 Hz) sit within a bin of a column tone and are only
  checked when that column is not the one pressed;
- the two tones carry at least 70% of the block's energy (speech and noise
  spread it; a tone 1.5% off frequency still shows about 85%).

The thresholds are constructor arguments. Cost: about 5 us per 20 ms frame of
silence or quiet audio, 10 us of speech.

A key-down is reported once the same digit held for 4 consecutive blocks
(about 32 ms of tone is needed, so 40 ms tones are always accepted), and a new
key-down only after 4 blocks without it (a pause of about 25 ms), so short
drop-outs inside one tone do not double a digit.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from media.dtmf import COLS, KEYS, ROWS
from media.pcm import RATE, Samples

__all__ = ["InbandDtmfDetector"]

BLOCK = 102
HOP = 51
# Mean-square power of a 0 dBm0 sine in 16-bit linear PCM (G.711: +3.17 dBm0 is full scale).
DBM0 = (32767 / 10 ** (3.17 / 20)) ** 2 / 2


def _db(x: float) -> float:
    return 10 ** (x / 10)


def _make_index(count: int) -> NDArray[np.intp]:
    """Fancy index picking `count` overlapping blocks out of a sample buffer."""
    return np.arange(count)[:, None] * HOP + np.arange(BLOCK)


# A 20 ms frame yields at most 4 blocks; longer frames build their index on demand.
_INDEXES = tuple(_make_index(count) for count in range(9))


def _block_index(count: int) -> NDArray[np.intp]:
    return _INDEXES[count] if count < len(_INDEXES) else _make_index(count)


class InbandDtmfDetector:
    """Feed 8 kHz int16 audio frame by frame; get the digits whose key went down."""

    __slots__ = (
        "min_power",
        "normal_twist",
        "reverse_twist",
        "relative_peak",
        "harmonic",
        "energy_share",
        "hits_needed",
        "misses_needed",
        "_basis",
        "_row_harmonic_check",
        "_buffer",
        "_candidate",
        "_run",
        "_down",
        "_misses",
    )

    def __init__(
        self,
        *,
        min_level_dbm0: float = -32.0,
        normal_twist_db: float = 8.0,
        reverse_twist_db: float = 4.0,
        relative_peak_db: float = 6.0,
        harmonic_db: float = 6.0,
        energy_share: float = 0.7,
        hits: int = 4,
        misses: int = 4,
    ) -> None:
        self.min_power = DBM0 * _db(min_level_dbm0)
        self.normal_twist = _db(normal_twist_db)
        self.reverse_twist = _db(reverse_twist_db)
        self.relative_peak = _db(relative_peak_db)
        self.harmonic = _db(-harmonic_db)
        self.energy_share = energy_share
        self.hits_needed = hits
        self.misses_needed = misses
        freqs = np.array(ROWS + COLS + tuple(2 * f for f in ROWS + COLS))
        phase = 2 * np.pi * np.outer(np.arange(BLOCK), freqs) / RATE
        # Scaled so that |X|^2 is the mean-square power of a sine at that frequency.
        self._basis = np.concatenate([np.cos(phase), np.sin(phase)], axis=1) * (np.sqrt(2) / BLOCK)
        # Where a row's second harmonic lies within a bin of the column tone (697/1336,
        # 770/1477, 852/1633) that bin measures the column tone, not a harmonic.
        self._row_harmonic_check = tuple(
            tuple(abs(2 * fr - fc) > 100 for fc in COLS) for fr in ROWS
        )
        self._buffer = np.zeros(0, dtype=np.float64)
        self._candidate: str | None = None
        self._run = 0
        self._down: str | None = None
        self._misses = 0

    def reset(self) -> None:
        self._buffer = np.zeros(0, dtype=np.float64)
        self._candidate, self._run, self._down, self._misses = None, 0, None, 0

    @property
    def held(self) -> str | None:
        """The digit whose key is down right now, if any."""
        return self._down

    def feed(self, frame: Samples) -> list[str]:
        """Digits whose key-down was detected in this frame (usually none)."""
        samples = np.concatenate((self._buffer, np.asarray(frame, dtype=np.float64)))
        count = (len(samples) - BLOCK) // HOP + 1 if len(samples) >= BLOCK else 0
        self._buffer = samples[count * HOP :]
        if count == 0:
            return []
        blocks = samples[_block_index(count)]
        digits: list[str] = []
        for candidate in self._classify(blocks):
            if candidate is not None or self._down is not None or self._run:
                digit = self._step(candidate)
                if digit is not None:
                    digits.append(digit)
        return digits

    def _classify(self, blocks: NDArray[np.float64]) -> list[str | None]:
        """The digit each block holds, or None."""
        totals = np.einsum("ij,ij->i", blocks, blocks).tolist()
        floor = 2 * BLOCK * self.min_power
        if max(totals) < floor:
            return [None] * len(totals)  # silence or quiet speech: no DFT needed
        spectrum = blocks @ self._basis
        spectrum *= spectrum
        # A dozen numpy calls on 3x16 values cost more than plain Python on them.
        powers = (spectrum[:, :16] + spectrum[:, 16:]).tolist()
        return [
            self._digit(p, t / BLOCK) if t >= floor else None
            for p, t in zip(powers, totals, strict=False)
        ]

    def _digit(self, p: list[float], total: float) -> str | None:
        rows, cols = p[0:4], p[4:8]
        pr = max(rows)
        pc = max(cols)
        if pr < self.min_power or pc < self.min_power:
            return None
        if pc > pr * self.reverse_twist or pr > pc * self.normal_twist:
            return None
        if pr + pc < self.energy_share * total:
            return None
        r = rows.index(pr)
        c = cols.index(pc)
        limit_r = pr / self.relative_peak
        limit_c = pc / self.relative_peak
        for i in range(4):
            if (i != r and rows[i] > limit_r) or (i != c and cols[i] > limit_c):
                return None
        if p[12 + c] > pc * self.harmonic:
            return None
        if self._row_harmonic_check[r][c] and p[8 + r] > pr * self.harmonic:
            return None
        return KEYS[r][c]

    def _step(self, candidate: str | None) -> str | None:
        if candidate is not None and candidate == self._candidate:
            self._run += 1
        else:
            self._candidate = candidate
            self._run = 0 if candidate is None else 1
        if self._down is not None:
            if candidate == self._down:
                self._misses = 0
            else:
                self._misses += 1
                if self._misses >= self.misses_needed:
                    self._down = None
        if self._down is None and candidate is not None and self._run >= self.hits_needed:
            self._down = candidate
            self._misses = 0
            return candidate
        return None
