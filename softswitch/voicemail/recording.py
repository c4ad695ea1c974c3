"""When a message ends: the time limit, or a stretch of silence once the caller spoke.

Fed each 20 ms frame the caller sends (ChannelAudio's listener); frames go to the WAV
and the end is decided here, with no allocation beyond the frame's energy.
"""

from __future__ import annotations

import asyncio
from enum import StrEnum

import numpy as np

from media.pcm import FRAME_MS, Samples
from media.recorder import WavWriter

# A frame quieter than this (RMS, int16 units; about -50 dBFS) counts as silence:
# G.711 comfort noise and a quiet room stay under it, speech does not.
SILENCE_RMS = 100.0


class EndReason(StrEnum):
    KEY = "key"  # the caller pressed #
    SILENCE = "silence"
    TIME_LIMIT = "time limit"
    HANGUP = "hangup"


class MessageRecorder:
    def __init__(self, writer: WavWriter, max_seconds: float, silence_seconds: float) -> None:
        self.writer = writer
        self._frames_left = int(max_seconds * 1000 / FRAME_MS)
        # 0 = silence never ends the message
        self._silence_limit = int(silence_seconds * 1000 / FRAME_MS)
        self._quiet = 0
        self._trailing_quiet = 0  # silent frames at the end, trimmed when the message ends
        self.ended: asyncio.Future[EndReason] = asyncio.get_running_loop().create_future()

    def feed(self, frame: Samples) -> None:
        if self.ended.done():
            return
        self.writer.write(frame)
        self._frames_left -= 1
        loud = float(np.sqrt(np.mean(frame.astype(np.float32) ** 2))) >= SILENCE_RMS
        self._quiet = 0 if loud else self._quiet + 1
        if self._frames_left <= 0:
            self.end(EndReason.TIME_LIMIT)
        elif self._silence_limit and self._quiet >= self._silence_limit:
            self.end(EndReason.SILENCE)

    def end(self, reason: EndReason) -> None:
        if not self.ended.done():
            self.ended.set_result(reason)

    @property
    def seconds(self) -> float:
        """Length of what was recorded, the silence that ended it left out."""
        return max(0.0, self.writer.duration - self._quiet * FRAME_MS / 1000)
