"""Voice-activity detection: where a caller's answer starts and ends, from frame energy.

An energy detector with an adaptive noise floor: a frame is voiced when it is
``margin_db`` above the floor and above an absolute minimum (line hiss and comfort
noise are not speech). Speech starts after ``start_frames`` voiced frames in a row and
ends after ``end_frames`` unvoiced ones; the floor follows the quietest recent level
(falls at once, rises slowly), so steady line noise raises the bar instead of counting
as speech. Cheap enough to run per frame, but the listener runs it off the media tick
with the decoding.
"""

from __future__ import annotations

import math
from enum import StrEnum

import numpy as np

from media.pcm import FRAME_MS, Samples

__all__ = ["Vad", "VadEvent"]

_MIN_DB = -50.0  # dBFS below which nothing is speech (digital silence, faint hiss)
_FLOOR_RISE_DB = 0.1  # per frame (5 dB/s): steady noise becomes the floor, a word does not


class VadEvent(StrEnum):
    START = "start"  # speech began (barge-in, the decoder is fed from here)
    END = "end"  # the caller stopped talking


def level_db(frame: Samples) -> float:
    """The frame's RMS level in dBFS (-100 for digital silence)."""
    x = frame.astype(np.float32)
    power = float(np.dot(x, x)) / max(1, len(x))
    return 10.0 * math.log10(power / (32768.0 * 32768.0)) if power > 0 else -100.0


class Vad:
    def __init__(
        self,
        *,
        margin_db: float = 12.0,
        start_ms: int = 80,
        end_ms: int = 600,
        min_db: float = _MIN_DB,
    ) -> None:
        if end_ms < FRAME_MS or start_ms < FRAME_MS:
            raise ValueError("start_ms and end_ms must be at least one frame")
        self.margin_db = margin_db
        self.min_db = min_db
        self.start_frames = start_ms // FRAME_MS
        self.end_frames = end_ms // FRAME_MS
        self.floor_db: float | None = None  # the first frame's level, then tracked
        self.in_speech = False
        self.speech_frames = 0  # frames since speech started (for max-speech)
        self._run = 0  # voiced frames in a row (before START) or unvoiced (in speech)

    @property
    def silent_run(self) -> int:
        """Unvoiced frames in a row since the last voiced one, in speech."""
        return self._run if self.in_speech else 0

    def voiced(self, db: float) -> bool:
        floor = self.min_db if self.floor_db is None else self.floor_db
        return db > self.min_db and db > floor + self.margin_db

    def feed(self, frame: Samples) -> VadEvent | None:
        """One 20 ms frame; returns the event it completes, if any."""
        db = level_db(frame)
        if self.floor_db is None:
            self.floor_db = db
        voiced = self.voiced(db)
        if db < self.floor_db:
            self.floor_db = db
        elif not voiced or not self.in_speech:
            self.floor_db = min(db, self.floor_db + _FLOOR_RISE_DB)
        if not self.in_speech:
            self._run = self._run + 1 if voiced else 0
            if self._run >= self.start_frames:
                self.in_speech, self._run, self.speech_frames = True, 0, self.start_frames
                return VadEvent.START
            return None
        self.speech_frames += 1
        self._run = 0 if voiced else self._run + 1
        if self._run >= self.end_frames:
            self.in_speech, self._run = False, 0
            return VadEvent.END
        return None
