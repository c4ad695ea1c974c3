"""Answering-machine detection on a leg's received audio, one 20 ms frame at a time.

The first decision follows Asterisk's app_amd: frames are voiced or silent by their mean
absolute level, above ``silence_threshold`` and ``noise_margin`` times the line's noise
floor (the quietest frame of the last 3 s: speech pauses between words, steady line
noise does not, so a noisy line does not read as talk). Digital silence (frames a phone
or gateway may send before the line's own sound) is no line's noise: the quietest other
frame is the floor once it is under ``silence_threshold``, or one such frame would let
the noise after it read as talk for 3 s; a loud sound after digital silence (a first
word, a beep) still has the silence's floor, zero, for 3 s. Voiced runs of at least
``min_word_length`` separated by ``between_words_silence`` count as words. Then, in the
order Asterisk checks them:

- ``initial_silence`` of silence before any voice: ``unknown`` (a silent answerer may
  be a person waiting; Twilio reports it so too);
- voice adding up to more than ``greeting`` (a long "You have reached ...") or more than
  ``maximum_words`` words: ``machine_start``;
- a short utterance followed by ``after_greeting_silence``: ``human`` ("Hello?", then
  waiting for us);
- nothing decided within ``total``: ``unknown``.

A steady tone in 400-2000 Hz lasting ``beep_length`` (the greeting's end beep) is a
machine whenever it comes. Asked to wait for the end of a machine's greeting
(``until_end``), the detector goes on after ``machine_start`` until the beep is over
(``machine_end_beep``: the mailbox records from then on; ``beep_at`` says where the
tone started, found ``beep_length`` later), ``end_silence`` of silence
(``machine_end_silence``) or ``end_timeout`` (``machine_end_other``), so a message
played then lands in the mailbox.

The beep check is an FFT of the voiced frames only: the frame's peak bin (50 Hz wide)
must hold most of its energy and stay put for ``beep_length``; speech spreads its
energy over harmonics and formants and moves. Cost per frame: a mean of 160 samples and
a minimum of 150 levels, plus a 160-point FFT when voiced (about 10 us on average).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from media.pcm import FRAME, FRAME_SECONDS, RATE, Samples

__all__ = ["AmdResult", "AmdSettings", "AnsweredBy", "AnsweringMachineDetector", "detect"]


class AnsweredBy(StrEnum):
    """Who answered, in Twilio's AnsweredBy words (stored in CDRs and reports)."""

    HUMAN = "human"
    MACHINE_START = "machine_start"
    MACHINE_END_BEEP = "machine_end_beep"
    MACHINE_END_SILENCE = "machine_end_silence"
    MACHINE_END_OTHER = "machine_end_other"
    UNKNOWN = "unknown"

    @property
    def machine(self) -> bool:
        return self.value.startswith("machine")


@dataclass(frozen=True, slots=True)
class AmdSettings:
    """The thresholds, seconds unless named otherwise; defaults are app_amd's (amd.conf)
    but for ``maximum_words`` (3, as in Asterisk 13+) and the end-of-greeting ones."""

    initial_silence: float = 2.5
    greeting: float = 1.5
    after_greeting_silence: float = 0.8
    total: float = 5.0
    min_word_length: float = 0.1
    between_words_silence: float = 0.05
    maximum_words: int = 3
    # mean absolute sample value of a voiced frame (app_amd's silence_threshold)
    silence_threshold: float = 256.0
    # a frame is voiced only if this many times louder than the line's noise floor too
    noise_margin: float = 3.0
    # the end of a machine's greeting (until_end): this much silence, or this long overall
    end_silence: float = 1.2
    end_timeout: float = 30.0
    # the beep: a tone this long, in this band, holding this share of the frame's energy
    beep_length: float = 0.1
    beep_low_hz: float = 400.0
    beep_high_hz: float = 2000.0
    beep_purity: float = 0.7

    def __post_init__(self) -> None:
        for name in (
            "initial_silence",
            "greeting",
            "after_greeting_silence",
            "total",
            "min_word_length",
            "between_words_silence",
            "end_silence",
            "end_timeout",
            "beep_length",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        if self.maximum_words < 1:
            raise ValueError("maximum_words must be at least 1")
        if not 0 < self.beep_low_hz < self.beep_high_hz <= RATE / 2:
            raise ValueError("beep band must lie within 0 < low < high <= 4000 Hz")
        if not 0 < self.beep_purity < 1:
            raise ValueError("beep_purity must be between 0 and 1")


@dataclass(frozen=True, slots=True)
class AmdResult:
    """A decision, ``at`` seconds of received audio after the answer; ``beep_at`` is
    where the beep started (found ``beep_length`` after it; a machine_end_beep result
    comes when the tone stopped); ``cause`` is app_amd's AMDCAUSE word (or BEEP,
    SILENCE, TIMEOUT, NOAUDIO); ``heard_at`` where the first voiced frame started (None
    if none came), which places the far end's audio on the same time line as ``beep_at``
    (a phone may start playing its greeting some frames after the answer)."""

    answered_by: AnsweredBy
    at: float
    cause: str
    beep_at: float | None = None
    heard_at: float | None = None


# a tone longer than this is no greeting's beep (a fax, a dial tone): its end is not awaited
MAX_BEEP = 2.5
_WINDOW = np.hanning(FRAME)
_FLOOR_FRAMES = 150  # 3 s: longer than any beep (MAX_BEEP), so a beep is never the floor
# a mean |sample| under -66 dBFS: no line's noise is this quiet, only digital silence
DIGITAL_SILENCE = 16.0
_BIN_HZ = RATE / FRAME  # 50 Hz


class AnsweringMachineDetector:
    """Feed it each received frame; ``feed`` returns the result once, when decided.

    ``until_end``: after ``machine_start``, wait for the end of the greeting and return
    one of the ``machine_end_*`` values instead; ``first`` keeps the first decision.
    """

    def __init__(self, settings: AmdSettings | None = None, *, until_end: bool = False) -> None:
        s = self.settings = settings or AmdSettings()
        self.until_end = until_end
        self.first: AmdResult | None = None
        self.result: AmdResult | None = None
        # every duration counted in frames: the per-frame work is integer compares
        self._initial = _frames(s.initial_silence)
        self._greeting = _frames(s.greeting)
        self._after = _frames(s.after_greeting_silence)
        self._total = _frames(s.total)
        self._min_word = _frames(s.min_word_length)
        self._between = _frames(s.between_words_silence)
        self._end_silence = _frames(s.end_silence)
        self._end_timeout = _frames(s.end_timeout)
        self._beep_frames = _frames(s.beep_length)
        self._lo = int(np.ceil(s.beep_low_hz / _BIN_HZ))
        self._hi = int(np.floor(s.beep_high_hz / _BIN_HZ))
        self.frames = 0
        self.words = 0
        self._voiced = 0  # voiced frames in all
        self._run = 0  # consecutive voiced frames
        self._silent = 0  # consecutive silent frames
        self._in_word = False
        self._heard = False  # voice of at least a word's length so far
        # the line's noise floor: the quietest frame of the last 3 s (speech has gaps
        # between words, steady line noise has none); the first frame sets it at once
        self._levels = np.full(_FLOOR_FRAMES, np.inf)
        self._level_at = 0
        self._digital_at = -_FLOOR_FRAMES  # the last frame of digital silence
        self._tone_bin = -1
        self._tone_run = 0
        self._beep_at: float | None = None  # a beep heard (until_end): when it started
        self._beep_cap = 0
        self._heard_at: float | None = None  # the first voiced frame's start

    def feed(self, frame: Samples) -> AmdResult | None:
        if self.result is not None:
            return None
        self.frames += 1
        level = float(np.abs(frame.astype(np.float32)).mean())
        s = self.settings
        if level < DIGITAL_SILENCE:
            self._digital_at = self.frames
            level_kept = np.inf
        else:
            level_kept = level
        self._levels[self._level_at] = level_kept
        self._level_at = (self._level_at + 1) % _FLOOR_FRAMES
        floor = float(self._levels.min())
        if floor > s.silence_threshold and self.frames - self._digital_at < _FLOOR_FRAMES:
            floor = 0.0  # nothing quiet since the digital silence: its floor still holds
        voiced = level > s.silence_threshold and level > floor * s.noise_margin
        tone_run = self._tone_run
        if voiced:
            if self._heard_at is None:
                self._heard_at = (self.frames - 1) * FRAME_SECONDS
            beep = self._tone(frame)
            if beep is not None:
                return beep
        else:
            self._tone_run = 0
        if self._beep_at is not None:
            # the mailbox records once the beep is over: the greeting ends with the tone
            if self._tone_run != tone_run + 1 or self.frames >= self._beep_cap:
                return self._end(AnsweredBy.MACHINE_END_BEEP, "BEEP", self._beep_at)
            return None
        if self.first is not None:
            return self._until_end(voiced)
        decided = self._first(voiced)
        if decided is None:
            return None
        self.first = decided
        if self.until_end and decided.answered_by is AnsweredBy.MACHINE_START:
            self._silent = 0 if voiced else self._silent
            return None
        self.result = decided
        return decided

    def _first(self, voiced: bool) -> AmdResult | None:
        if voiced:
            self._silent = 0
            self._voiced += 1
            self._run += 1
            if self._run >= self._min_word and not self._in_word:
                self._in_word = True
                self.words += 1
                if self.words > self.settings.maximum_words:
                    return self._decide(AnsweredBy.MACHINE_START, f"MAXWORDS-{self.words}")
            if self._voiced >= self._min_word:
                self._heard = True  # out of the initial silence, into the greeting
            if self._heard and self._voiced > self._greeting:
                return self._decide(AnsweredBy.MACHINE_START, "LONGGREETING")
        else:
            self._silent += 1
            if self._silent >= self._between:
                self._in_word = False
                self._run = 0
            if not self._heard and self._silent >= self._initial:
                return self._decide(AnsweredBy.UNKNOWN, "INITIALSILENCE")
            if self._heard and self._silent >= self._after:
                return self._decide(AnsweredBy.HUMAN, "HUMAN")
        if self.frames >= self._total:
            return self._decide(AnsweredBy.UNKNOWN, "TOOLONG")
        return None

    def _until_end(self, voiced: bool) -> AmdResult | None:
        self._silent = 0 if voiced else self._silent + 1
        if self._silent >= self._end_silence:
            return self._end(AnsweredBy.MACHINE_END_SILENCE, "SILENCE")
        if self.frames >= self._end_timeout:
            return self._end(AnsweredBy.MACHINE_END_OTHER, "TIMEOUT")
        return None

    def _tone(self, frame: Samples) -> AmdResult | None:
        """The beep: the same strong peak in the band for beep_length."""
        power = np.abs(np.fft.rfft(frame * _WINDOW)) ** 2
        band = power[self._lo : self._hi + 1]
        peak = int(band.argmax()) + self._lo
        # a Hann window spreads a tone over its bin and the two beside it
        share = float(power[peak - 1 : peak + 2].sum() / (power[1:].sum() + 1e-9))
        if share < self.settings.beep_purity:
            self._tone_run = 0
            return None
        if self._tone_run and abs(peak - self._tone_bin) <= 1:
            self._tone_run += 1
        else:
            self._tone_run = 1
            self._tone_bin = peak
        if self._tone_run != self._beep_frames:
            return None
        start = (self.frames - self._tone_run) * FRAME_SECONDS
        if self.first is None:
            self.first = self._decide(AnsweredBy.MACHINE_START, "BEEP")
        if not self.until_end:
            return self._end(AnsweredBy.MACHINE_START, "BEEP", start)
        self._beep_at = start
        self._beep_cap = self.frames + _frames(MAX_BEEP)
        return None

    def _decide(self, who: AnsweredBy, cause: str) -> AmdResult:
        return AmdResult(who, self.frames * FRAME_SECONDS, cause, heard_at=self._heard_at)

    def _end(self, who: AnsweredBy, cause: str, beep_at: float | None = None) -> AmdResult:
        self.result = AmdResult(who, self.frames * FRAME_SECONDS, cause, beep_at, self._heard_at)
        return self.result

    def timed_out(self) -> AmdResult:
        """The result when the audio stopped coming before a decision (a leg without
        RTP): machine_end_other after machine_start when waiting for the end, else
        unknown."""
        if self.result is not None:
            return self.result
        if self.first is not None:
            return self._end(AnsweredBy.MACHINE_END_OTHER, "TIMEOUT")
        return self._end(AnsweredBy.UNKNOWN, "NOAUDIO")


def _frames(seconds: float) -> int:
    return max(1, int(round(seconds / FRAME_SECONDS)))


def detect(
    samples: NDArray[np.int16], settings: AmdSettings | None = None, *, until_end: bool = False
) -> AmdResult:
    """Run the detector over a recording (tools and tests): the result, or what the
    detector says when the audio ran out first."""
    detector = AnsweringMachineDetector(settings, until_end=until_end)
    for start in range(0, len(samples) - FRAME + 1, FRAME):
        result = detector.feed(samples[start : start + FRAME])
        if result is not None:
            return result
    return detector.timed_out()
