"""[media] recognizer: the listen steps' engine, loaded when the call service is built."""

from __future__ import annotations

from pathlib import Path

import pytest

from media.recognizer import PocketsphinxRecognizer, RecognizerError
from media.recognizer_workers import WorkerRecognizer
from media.tts import Tts
from softswitch.calls import CallService
from softswitch.switch import Switch


def tts(switch: Switch) -> Tts:
    return Tts(Path(switch.config.media.prompts_dir), engine="flite", allow_online=False)


async def test_the_default_engine_reaches_the_flows(switch: Switch) -> None:
    assert switch.config.media.recognizer == "pocketsphinx"
    calls = CallService.configured(switch, tts(switch))
    try:
        recognizer = calls.flow_audio("account_1").recognizer
        # decoded in a worker process by default ([media] recognizer_workers = 1)
        assert isinstance(recognizer, WorkerRecognizer)
        assert recognizer.engine_name == "pocketsphinx"
        assert isinstance(recognizer._local, PocketsphinxRecognizer)
    finally:
        await calls.stop(grace=0.5)


async def test_an_engine_that_cannot_load_stops_the_start(switch: Switch) -> None:
    switch.config.media.recognizer = "nosuch.module:Recognizer"
    with pytest.raises(RecognizerError, match="cannot load recognizer"):
        CallService.configured(switch, tts(switch))
    switch.config.media.recognizer = "whisper"
    with pytest.raises(RecognizerError, match="unknown recognizer 'whisper'"):
        CallService.configured(switch, tts(switch))
