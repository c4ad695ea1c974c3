"""The listen step on a live channel: a phone (a real RtpSession) answers by speaking
(flite) or with keys; each answer takes its branch and is kept for the CDR."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from media.clock import MediaClock
from media.pcm import FRAME
from media.ports import PortAllocator
from media.recognizer import PocketsphinxRecognizer
from media.tts import Tts
from softswitch.channel import Channel
from softswitch.channel_audio import ChannelAudio
from softswitch.flow import FlowAudio, FlowRunner, FlowState, SpeechInput
from softswitch.flowmodel import parse_flow
from tests.legs import Leg, legs, until
from tests.peers.audio import spoken


def survey(prompt: str = "Will you attend? Say yes or no.", **extra: object) -> list[dict]:
    def result(value: str) -> list[dict]:
        return [
            {"type": "set_result", "value": value},
            {"type": "report", "header": "Answer", "value": "{answer} {answer_text}", "order": 1},
        ]

    return [
        {
            "type": "listen",
            "name": "answer",
            "prompt": {"type": "say", "text": prompt},
            "choices": [
                {
                    "name": "yes",
                    "phrases": ["yes", "yeah", "sure"],
                    "key": "1",
                    "steps": result("yes"),
                },
                {"name": "no", "phrases": ["no", "no thanks", "nope"], "steps": result("no")},
                {
                    "name": "agent",
                    "phrases": ["talk to an agent", "agent"],
                    "steps": result("agent"),
                },
            ],
            "digits": 4,
            "then": result("code {answer}"),
            "no_match": result("no match"),
            "no_input": result("no input"),
            "no_input_timeout": 0.6,
            **extra,
        }
    ]


@pytest.fixture(scope="module")
def engine() -> PocketsphinxRecognizer:
    return PocketsphinxRecognizer()


class Call:
    def __init__(self, leg: Leg, media: ChannelAudio, audio: FlowAudio) -> None:
        self.leg, self.media, self.audio = leg, media, audio

    async def run(self, steps: list[dict]) -> FlowState:
        async def connect(channel: Channel, number: str, timeout: float) -> bool:
            return False

        runner = FlowRunner(
            self.leg.channel, self.media, self.audio, FlowState({}), connect, Path("."), "r1"
        )
        return await asyncio.wait_for(runner.run(parse_flow(steps)), 15)

    async def say(self, audio: np.ndarray, after: float = 0.0) -> None:
        """The phone talks (then stays quiet), frame by frame at the clock's pace."""
        await asyncio.sleep(after)
        padded = np.concatenate([audio, np.zeros(8000 * 3, np.int16)])
        n = len(padded) // FRAME
        for frame in padded[: n * FRAME].reshape(n, FRAME):
            self.leg.phone.write_frame(frame)
            await asyncio.sleep(0.02)


@pytest.fixture
async def call(tmp_path: Path, engine: PocketsphinxRecognizer) -> AsyncIterator[Call]:
    clock = MediaClock()
    clock.start()
    async with legs(PortAllocator(36000, 36999)) as made:
        leg = await made.leg()
        media = ChannelAudio(leg.channel, clock)
        media.start()
        audio = FlowAudio(Tts(tmp_path / "tts"), tmp_path / "up", recognizer=engine)
        yield Call(leg, media, audio)
        media.stop()
    clock.stop()


@pytest.mark.parametrize(
    ("answer", "result", "value"),
    [("talk to an agent", "agent", "agent"), ("four two seven", "code 427", "427")],
)
async def test_a_spoken_answer_takes_its_branch(
    call: Call, answer: str, result: str, value: str
) -> None:
    speaking = asyncio.ensure_future(call.say(spoken(answer, "rms"), after=0.2))
    state = await call.run(survey())
    speaking.cancel()
    assert state.result == result
    assert state.variables["answer"] == value
    assert state.variables["answer_text"] == answer
    assert 0 < float(state.variables["answer_confidence"]) <= 1
    assert state.report_data == [("Answer", f"{value} {answer}", 1)]
    [heard] = state.speech_inputs
    assert (heard.name, heard.value, heard.text) == ("answer", value, answer)
    assert heard.outcome == ("choice" if value == "agent" else "digits")
    assert 1 < state.asr_seconds < 4


async def test_speech_stops_the_prompt(call: Call) -> None:
    long_prompt = "Thank you for calling. " * 6 + "Will you attend?"
    speaking = asyncio.ensure_future(call.say(spoken("yes", "rms"), after=0.5))
    running = asyncio.ensure_future(call.run(survey(long_prompt)))
    await until(lambda: call.media.player is not None)
    # barge-in: the prompt (several seconds) stops as soon as the caller is heard
    await until(lambda: call.media.player is None, timeout=2.0)
    state = await running
    speaking.cancel()
    assert state.result == "yes"


async def test_a_key_answers_too_and_stops_listening(call: Call) -> None:
    running = asyncio.ensure_future(call.run(survey()))
    await until(lambda: call.media.player is not None)
    call.leg.phone.send_dtmf("1")
    state = await running
    assert state.result == "yes"
    assert state.speech_inputs == [SpeechInput("answer", "yes", "choice", keys="1")]
    assert state.asr_seconds == 0
    assert call.media.listener is None


async def test_silence_is_no_input(call: Call) -> None:
    speaking = asyncio.ensure_future(call.say(np.zeros(0, np.int16)))
    state = await call.run(survey("Hello?"))
    speaking.cancel()
    assert state.result == "no input"
    assert state.speech_inputs[0].outcome == "no_input"


async def test_an_answer_below_the_threshold_is_no_match(call: Call) -> None:
    speaking = asyncio.ensure_future(call.say(spoken("yes", "rms"), after=0.2))
    state = await call.run(survey("Hello?", confidence=1.0))
    speaking.cancel()
    heard = float(state.variables["answer_confidence"])
    assert state.variables["answer_text"] == "yes"
    # only an answer the free decode agrees with fully passes a threshold of 1
    assert state.result == ("yes" if heard >= 1.0 else "no match")
    assert state.variables["answer"] == ("yes" if heard >= 1.0 else "")


async def test_without_a_recognizer_the_step_hears_keys(call: Call) -> None:
    call.audio.recognizer = None
    speaking = asyncio.ensure_future(call.say(spoken("yes", "rms"), after=0.2))
    state = await call.run(survey("Hello?"))
    speaking.cancel()
    assert state.result == "no input"
