"""Player: feeds a prompt into a call leg one 20 ms frame per media-clock tick.

The switch pulls ``next_frame()`` on every tick and writes the frame to the RTP
session; ``None`` means the player is done. Barge-in: ``dtmf(digit)`` stops
playback when the digit is in the stop set. Completion is reported once, both
through an optional callback and through ``await player.wait()``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from media.dtmf import DIGITS
from media.pcm import FRAME_MS, SILENCE, Samples
from media.prompt import to_frames


@dataclass(slots=True, frozen=True)
class PlayResult:
    reason: str  # 'finished' | 'dtmf' | 'stopped'
    digit: str | None  # the barge-in digit when reason == 'dtmf'
    frames_played: int
    repeats_done: int  # complete passes through the prompt


class Player:
    """Plays `audio` `repeat` times (None = until stopped) with `pause_ms` between."""

    def __init__(
        self,
        audio: Samples | Sequence[Samples],
        *,
        repeat: int | None = 1,
        pause_ms: int = 0,
        stop_digits: str = "",
        on_done: Callable[[PlayResult], None] | None = None,
    ) -> None:
        if repeat is not None and repeat < 1:
            raise ValueError("repeat must be >= 1 (or None for endless)")
        if pause_ms < 0:
            raise ValueError("pause_ms must be >= 0")
        bad = set(stop_digits) - set(DIGITS)
        if bad:
            raise ValueError(f"not DTMF digits: {''.join(sorted(bad))}")
        parts = [audio] if isinstance(audio, np.ndarray) else list(audio)
        samples = (
            np.concatenate([np.asarray(p, dtype=np.int16) for p in parts])
            if parts
            else np.zeros(0, dtype=np.int16)
        )
        self._frames = to_frames(samples)
        self._frames.flags.writeable = False  # frames are handed out as views
        self._pause_frames = -(-pause_ms // FRAME_MS)
        self._repeat = repeat
        self.stop_digits = frozenset(stop_digits)
        self._on_done = on_done
        self._pos = 0  # frame index inside the current pass (prompt + pause)
        self._pass = 0
        self._played = 0
        self._completed = 0  # passes whose prompt part was played to its end
        self._result: PlayResult | None = None
        self._event = asyncio.Event()

    # -- driven by the media clock

    def next_frame(self) -> Samples | None:
        """The next 20 ms frame (a read-only view), or None once playback is over."""
        if self._result is not None:
            return None
        n = len(self._frames)
        if self._pos >= n + self._pause_frames:
            self._pos = 0
            self._pass += 1
        if (self._repeat is not None and self._pass >= self._repeat) or n == 0:
            self._finish("finished", None)
            return None
        last_pass = self._repeat is not None and self._pass == self._repeat - 1
        frame: Samples
        if self._pos < n:
            frame = self._frames[self._pos]
            if self._pos == n - 1:
                self._completed += 1
        elif last_pass:
            # no trailing pause after the final repetition
            self._pass += 1
            self._finish("finished", None)
            return None
        else:
            frame = SILENCE
        self._pos += 1
        self._played += 1
        return frame

    # -- control

    def dtmf(self, digit: str) -> bool:
        """Barge-in: stop if `digit` is a stop digit. Returns True if it stopped playback."""
        if self._result is None and digit.upper() in self.stop_digits:
            self._finish("dtmf", digit.upper())
            return True
        return False

    def stop(self) -> None:
        if self._result is None:
            self._finish("stopped", None)

    @property
    def done(self) -> bool:
        return self._result is not None

    @property
    def result(self) -> PlayResult | None:
        return self._result

    @property
    def duration_frames(self) -> int | None:
        """Frames a full playback takes (None when endless)."""
        if self._repeat is None:
            return None
        return self._repeat * len(self._frames) + (self._repeat - 1) * self._pause_frames

    async def wait(self) -> PlayResult:
        await self._event.wait()
        assert self._result is not None
        return self._result

    def __await__(self) -> Generator[Any, None, PlayResult]:
        return self.wait().__await__()

    def _finish(self, reason: str, digit: str | None) -> None:
        self._result = PlayResult(
            reason=reason, digit=digit, frames_played=self._played, repeats_done=self._completed
        )
        self._event.set()
        if self._on_done is not None:
            self._on_done(self._result)
