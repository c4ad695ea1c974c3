"""Decoding in worker processes: a real pocketsphinx worker recognizes a streamed answer
through the listener, a killed worker fails only its utterance (no_match, the call goes
on) and is started afresh, and close() stops the workers."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import deque

import pytest

from media.expectations import Expectations
from media.listener import ListenStatus, SpeechListener
from media.recognizer import RecognizerError, recognizer
from media.recognizer_workers import WorkerGone, WorkerRecognizer, _next
from tests.media.test_listener import say_into
from tests.peers.audio import spoken

SURVEY = Expectations.of({"yes": ["yes", "yeah"], "agent": ["talk to an agent", "agent"]})


@pytest.fixture(scope="module")
def engine() -> object:
    engine = recognizer("pocketsphinx", workers=1)
    assert isinstance(engine, WorkerRecognizer)
    yield engine
    engine.close()


async def listen(engine: WorkerRecognizer, text: str) -> tuple[ListenStatus, str, float | None]:
    listener = SpeechListener(engine.stream(SURVEY), no_input=3, executor=engine.executor)
    listener.start()
    listener.start_timer()
    feeding = asyncio.ensure_future(say_into(listener, spoken(text, "rms")))
    heard = await asyncio.wait_for(listener.result(), 20)
    feeding.cancel()
    return heard.status, heard.text, heard.latency


async def test_a_worker_process_recognizes_the_streamed_answer(engine: WorkerRecognizer) -> None:
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(engine.executor, engine.prepare, SURVEY)
    assert len(engine.pids()) == 1 and engine.pids()[0] != os.getpid()
    status, text, latency = await listen(engine, "talk to an agent")
    assert (status, text) == (ListenStatus.HEARD, "talk to an agent")
    assert latency is not None and latency < 2.0  # generous: the machine is shared


async def test_a_killed_worker_fails_its_utterance_only(
    engine: WorkerRecognizer, caplog: pytest.LogCaptureFixture
) -> None:
    stream = engine.stream(SURVEY)
    audio = spoken("yes", "rms")
    stream.feed(audio[:1600])
    (pid,) = engine.pids()
    os.kill(pid, signal.SIGKILL)
    await asyncio.sleep(0.2)
    with pytest.raises(WorkerGone):
        stream.feed(audio[1600:])
        stream.finish()
    assert "recognizer worker listen-0" in caplog.text
    # the next question gets a fresh worker
    status, text, _ = await listen(engine, "yes")
    assert (status, text) == (ListenStatus.HEARD, "yes")
    assert engine.pids() != [pid]


async def test_a_worker_dying_mid_answer_gives_an_empty_answer_not_an_error(
    engine: WorkerRecognizer,
) -> None:
    listener = SpeechListener(engine.stream(SURVEY), no_input=3, executor=engine.executor)
    listener.start()
    listener.start_timer()
    feeding = asyncio.ensure_future(say_into(listener, spoken("talk to an agent", "rms")))
    await asyncio.wait_for(listener.speech_started.wait(), 10)
    await asyncio.sleep(0.3)  # some speech has gone to the worker
    for pid in engine.pids():
        os.kill(pid, signal.SIGKILL)
    heard = await asyncio.wait_for(listener.result(), 20)
    feeding.cancel()
    # what the flow takes as no_match (media.listener logs the failure)
    assert (heard.status, heard.text) == (ListenStatus.HEARD, "")


def test_unknown_words_are_answered_without_a_worker_and_bad_counts_refused() -> None:
    engine = WorkerRecognizer("pocketsphinx", 2, recognizer("pocketsphinx"))
    assert engine.unknown_words(["yes", "zzzqx"]) == ["zzzqx"]
    assert engine.pids() == []  # started lazily
    engine.close()
    with pytest.raises(RecognizerError, match="at least 1"):
        WorkerRecognizer("pocketsphinx", 0, recognizer("pocketsphinx"))
    closed = engine.stream(SURVEY)
    with pytest.raises(RecognizerError, match="closed"):
        closed.feed(spoken("yes", "rms")[:800])


def test_close_stops_the_workers() -> None:
    engine = WorkerRecognizer("pocketsphinx", 2, recognizer("pocketsphinx"))
    engine.prepare(SURVEY)
    pids = engine.pids()
    assert len(pids) == 2
    engine.close()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_a_finish_is_served_before_other_callers_speech_and_a_stream_keeps_its_order() -> None:
    """The worker's queue: the caller who stopped speaking is the one waiting."""
    queued = deque(
        [
            ("feed", 1, SURVEY, True, "a1"),
            ("feed", 2, SURVEY, True, "b1"),
            ("feed", 1, SURVEY, True, "a2"),
            ("feed", 3, SURVEY, True, "c1"),
            ("feed", 2, SURVEY, True, "b2"),
            ("finish", 7, 2, True, 0.5),
            ("feed", 1, SURVEY, True, "a3"),
            ("cancel", 3),
            ("prepare", 8, SURVEY),
        ]
    )
    served = []
    while len(queued) > 1:
        served.append(_next(queued, {1: 0, 2: 1, 3: 2}))
    # the cancel first, taking stream 3's queued speech with it; then stream 2's speech
    # and its finish; then the rest in arrival order
    assert [r[:2] if r[0] != "feed" else r[-1] for r in served] == [
        ("cancel", 3),
        "b1",
        "b2",
        ("finish", 7),
        "a1",
        "a2",
        "a3",
    ]
    assert list(queued) == [("prepare", 8, SURVEY)]


def test_without_a_finish_the_caller_who_started_talking_first_is_served_first() -> None:
    queued = deque(
        [
            ("feed", 5, SURVEY, True, "y1"),
            ("feed", 4, SURVEY, True, "x1"),
            ("feed", 5, SURVEY, True, "y2"),
            ("feed", 4, SURVEY, True, "x2"),
        ]
    )
    talking = {4: 0, 5: 1}  # 4 began speaking first: kept caught up, likely done first
    assert [_next(queued, talking)[-1] for _ in range(4)] == ["x1", "x2", "y1", "y2"]
