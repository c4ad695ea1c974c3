"""Listening for one spoken answer on a call leg: VAD, streaming recognition, timeouts.

The media tick only hands frames over (``feed`` appends a copy to a deque). A task
wakes every ``poll`` seconds, takes what arrived, runs the VAD over it (cheap numpy)
and hands any speech to the recognizer in an executor thread, so decoding never runs
on the media clock and a call hearing silence costs the executor nothing; each
stream's work is submitted one batch at a time, in order. Speech is fed to the recognizer from
a little before the VAD heard it start (the onset it needed to decide) until it ends,
so the hypothesis is ready a decode of the last batch after the end of speech.

``result()`` ends with one of: the caller said something (``HEARD``, with the text and
the engine's confidence, maybe ''), nothing within ``no_input`` seconds of
``start_timer()`` (``NO_INPUT``), or ``cancel()`` (a key was pressed: ``CANCELED``).
Speech longer than ``max_speech`` is cut there and recognized as it is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from concurrent.futures import Executor
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from media.pcm import FRAME_MS, Samples
from media.recognizer import Hypothesis, RecognitionStream
from media.vad import Vad, VadEvent

__all__ = ["Heard", "ListenStatus", "SpeechListener"]

log = logging.getLogger(__name__)

_PREROLL_MS = 300  # audio kept from before the VAD's start decision
_TRAIL_MS = 400  # of the silence that ends speech, what the decoder still gets (a
# soft last sound, the "n" of "seven", is below the VAD's bar but the decoder needs it)


class ListenStatus(StrEnum):
    HEARD = "heard"
    NO_INPUT = "no_input"
    CANCELED = "canceled"


@dataclass(frozen=True, slots=True)
class Heard:
    status: ListenStatus
    text: str = ""
    confidence: float = 0.0
    audio_seconds: float = 0.0  # audio the recognizer processed
    # seconds from the end of speech (the VAD's decision, or max_speech) to the answer
    latency: float | None = None
    too_long: bool = False  # cut at max_speech


class SpeechListener:
    def __init__(
        self,
        stream: RecognitionStream,
        *,
        no_input: float = 5.0,
        max_speech: float = 10.0,
        end_silence_ms: int = 600,
        executor: Executor | None = None,
        poll: float = 0.1,
        confidence: bool = True,
    ) -> None:
        """``confidence``: have the recognizer measure it (a listen step with a
        threshold); without, an answer's confidence is 1 and costs half the CPU."""
        self.stream = stream
        self.confidence = confidence
        self.no_input = no_input
        self.executor = executor
        self.poll = poll
        self.vad = Vad(end_ms=end_silence_ms)
        self.speech_started = asyncio.Event()
        self._max_frames = int(max_speech * 1000 / FRAME_MS)
        self._frames: deque[Samples] = deque()
        self._last_arrival = 0.0
        self._preroll: deque[Samples] = deque(maxlen=_PREROLL_MS // FRAME_MS)
        self._trail = _TRAIL_MS // FRAME_MS
        self._deadline: float | None = None
        self._canceled = asyncio.Event()
        self._task: asyncio.Task[Heard] | None = None

    # -- on the media tick

    def feed(self, frame: Samples) -> None:
        """The caller's next frame (copied: the session reuses its buffer)."""
        self._frames.append(frame.copy())
        self._last_arrival = time.monotonic()

    # -- on the loop

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    def start_timer(self) -> None:
        """The question has been asked: the no-input timeout runs from now."""
        if self._deadline is None:
            self._deadline = time.monotonic() + self.no_input

    def cancel(self) -> None:
        self._canceled.set()

    async def result(self) -> Heard:
        self.start()
        assert self._task is not None
        return await self._task

    async def _run(self) -> Heard:
        loop = asyncio.get_running_loop()
        canceled = asyncio.ensure_future(self._canceled.wait())
        try:
            while True:
                await asyncio.wait([canceled], timeout=self.poll)
                if canceled.done():
                    await loop.run_in_executor(self.executor, self.stream.cancel)
                    return Heard(ListenStatus.CANCELED)
                frames = list(self._frames)
                self._frames.clear()
                arrival = self._last_arrival
                # the VAD here (a few microseconds a frame): only speech goes to the
                # executor, so a call listening to silence costs it nothing
                speech, end, too_long = self.segment(frames)
                if self.vad.in_speech or end is not None:
                    self.speech_started.set()
                if speech or end is not None:
                    try:
                        hypothesis = await loop.run_in_executor(
                            self.executor, self.decode, speech, end is not None
                        )
                    except Exception:  # a broken engine: the question goes unanswered
                        log.exception("speech recognition failed")
                        return Heard(ListenStatus.HEARD)
                    if hypothesis is not None and end is not None:
                        # the end was heard `end` frames before the batch's last
                        ended = arrival - end * FRAME_MS / 1000
                        return Heard(
                            ListenStatus.HEARD,
                            hypothesis.text,
                            hypothesis.confidence,
                            hypothesis.audio_seconds,
                            latency=max(0.0, time.monotonic() - ended),
                            too_long=too_long,
                        )
                if (
                    not self.speech_started.is_set()
                    and self._deadline is not None
                    and time.monotonic() >= self._deadline
                ):
                    return Heard(ListenStatus.NO_INPUT)
        except asyncio.CancelledError:
            # the call went away mid-utterance: free the decoder, off the loop
            loop.run_in_executor(self.executor, self.stream.cancel)
            raise
        finally:
            canceled.cancel()

    def segment(self, frames: list[Samples]) -> tuple[list[Samples], int | None, bool]:
        """VAD over the batch: the frames to feed the recognizer; where speech ended (or
        max_speech cut it), as frames before the batch's last; whether it was cut."""
        vad = self.vad
        speech: list[Samples] = []
        for i, frame in enumerate(frames):
            was_speaking = vad.in_speech
            event = vad.feed(frame)
            if event is VadEvent.START:
                speech.extend(self._preroll)
                self._preroll.clear()
            if vad.in_speech or event is VadEvent.END:
                # the run of silence that ends speech is fed only in part: the decoder
                # needs some to settle, the rest is no one's speech
                if not (event is VadEvent.END or (was_speaking and vad.silent_run > self._trail)):
                    speech.append(frame)
            else:
                self._preroll.append(frame)
            too_long = vad.in_speech and vad.speech_frames >= self._max_frames
            if event is VadEvent.END or too_long:
                return speech, len(frames) - 1 - i, too_long
        return speech, None, False

    # -- in the executor

    def decode(self, speech: list[Samples], finish: bool) -> Hypothesis | None:
        """Feed the speech; at its end, the hypothesis."""
        if speech:
            self.stream.feed(np.concatenate(speech))
        return self.stream.finish(self.confidence) if finish else None

    def process(self, frames: list[Samples]) -> tuple[Hypothesis, int, bool] | None:
        """Both halves at once (benches): at the end of speech the hypothesis, how many
        of the batch's frames came after it, and whether max_speech cut it."""
        speech, end, too_long = self.segment(frames)
        hypothesis = self.decode(speech, end is not None)
        if hypothesis is None or end is None:
            return None
        return hypothesis, end, too_long
