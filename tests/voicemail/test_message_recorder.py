"""softswitch/voicemail/recording.py: a message ends on silence or at the time limit."""

import asyncio
import wave

import numpy as np

from media.pcm import FRAME
from media.recorder import WavWriter
from softswitch.voicemail.recording import EndReason, MessageRecorder

LOUD = (np.sin(np.arange(FRAME) * 2 * np.pi * 500 / 8000) * 8000).astype(np.int16)
QUIET = np.zeros(FRAME, dtype=np.int16)


def frames(path):
    with wave.open(str(path)) as w:
        return w.getnframes()


def test_silence_after_speech_ends_the_message_and_is_not_counted(tmp_path):
    async def run():
        writer = WavWriter(tmp_path / "m.wav")
        rec = MessageRecorder(writer, max_seconds=60, silence_seconds=1)
        for _ in range(100):  # 2 s of talk
            rec.feed(LOUD)
        for _ in range(49):
            rec.feed(QUIET)
        assert not rec.ended.done()
        rec.feed(QUIET)  # the 50th silent frame: 1 s
        assert rec.ended.result() == EndReason.SILENCE
        rec.feed(LOUD)  # after the end nothing more is written
        writer.close()
        return rec

    rec = asyncio.run(run())
    assert abs(rec.seconds - 2.0) < 0.01
    assert frames(tmp_path / "m.wav") == 150 * FRAME


def test_time_limit_and_no_silence_limit(tmp_path):
    async def run():
        writer = WavWriter(tmp_path / "m.wav")
        rec = MessageRecorder(writer, max_seconds=1, silence_seconds=0)
        for _ in range(49):
            rec.feed(QUIET)  # silence_seconds 0: silence alone never ends it
        assert not rec.ended.done()
        rec.feed(QUIET)
        writer.close()
        return rec

    rec = asyncio.run(run())
    assert rec.ended.result() == EndReason.TIME_LIMIT


def test_first_end_wins(tmp_path):
    async def run():
        rec = MessageRecorder(WavWriter(tmp_path / "m.wav"), 10, 5)
        rec.end(EndReason.KEY)
        rec.end(EndReason.HANGUP)
        rec.writer.close()
        return rec.ended.result()

    assert asyncio.run(run()) == EndReason.KEY
