"""Transcription with pocketsphinx on real synthesized speech."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from media import g711
from media.asr import AsrError, PocketsphinxTranscriber, Transcriber, transcriber
from media.tts import Tts
from media.voice import VoiceParams

DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
MATTHEW = VoiceParams.parse(voice="Matthew")


@pytest.fixture(scope="module")
def asr() -> PocketsphinxTranscriber:
    return PocketsphinxTranscriber()


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("asr-tts")


async def test_free_transcription(asr: PocketsphinxTranscriber, cache: Path) -> None:
    speech = await Tts(cache).speech("hello world this is a test", MATTHEW)
    assert asr.transcribe(speech, 8000) == "hello world this is a test"


async def test_restricted_words_after_g711(asr: PocketsphinxTranscriber, cache: Path) -> None:
    speech = await Tts(cache).digits("305", MATTHEW)
    line = g711.ulaw_decode(g711.ulaw_encode(speech))
    assert asr.transcribe(line, 8000, words=DIGIT_WORDS) == "three zero five"
    # phrases are split into words; case does not matter
    assert asr.transcribe(line, 8000, words=["Three Zero", "FIVE"]) == "three zero five"


async def test_vocabulary_really_restricts(asr: PocketsphinxTranscriber, cache: Path) -> None:
    speech = await Tts(cache).speech("hello world this is a test", MATTHEW)
    heard = asr.transcribe(speech, 8000, words=DIGIT_WORDS)
    assert set(heard.split()) <= set(DIGIT_WORDS)
    # and the general model is back for the next call
    assert asr.transcribe(speech, 8000) == "hello world this is a test"


async def test_other_rates(asr: PocketsphinxTranscriber, cache: Path) -> None:
    from media.prompt import resample

    speech = await Tts(cache).speech("seven eight nine", MATTHEW)
    assert (
        asr.transcribe(resample(speech, 8000, 16000), 16000, words=DIGIT_WORDS)
        == "seven eight nine"
    )
    assert (
        asr.transcribe(resample(speech, 8000, 44100), 44100, words=DIGIT_WORDS)
        == "seven eight nine"
    )


async def test_long_audio_is_split_at_pauses(asr: PocketsphinxTranscriber, cache: Path) -> None:
    tts = Tts(cache)
    gap = np.zeros(8000, dtype=np.int16)
    parts = []
    for otp in ("1234567890", "4821", "9035") * 3:
        parts += [await tts.digits(otp, MATTHEW), gap]
    audio = np.concatenate(parts)
    assert len(audio) > 25 * 8000  # over the segmentation threshold
    expected = " ".join(DIGIT_WORDS[int(c)] for c in "123456789048219035" * 3)
    assert asr.transcribe(audio, 8000, words=DIGIT_WORDS) == expected


def test_silence_and_noise_give_no_words(asr: PocketsphinxTranscriber) -> None:
    assert asr.transcribe(np.zeros(16000, dtype=np.int16), 8000) == ""
    assert asr.transcribe(np.zeros(0, dtype=np.int16), 8000, words=DIGIT_WORDS) == ""


def test_bad_requests(asr: PocketsphinxTranscriber) -> None:
    with pytest.raises(AsrError, match="not in the recognizer's dictionary: qwxzv"):
        asr.transcribe(np.zeros(800, dtype=np.int16), 8000, words=["one", "qwxzv"])
    with pytest.raises(AsrError, match="mono"):
        asr.transcribe(np.zeros((800, 2), dtype=np.int16), 8000)


def test_pluggable_by_name() -> None:
    assert isinstance(transcriber(), PocketsphinxTranscriber)
    assert isinstance(transcriber("pocketsphinx"), Transcriber)
    assert isinstance(transcriber("media.asr:PocketsphinxTranscriber"), PocketsphinxTranscriber)
    with pytest.raises(AsrError, match="unknown transcriber 'whisper'"):
        transcriber("whisper")
    with pytest.raises(AsrError, match="cannot load"):
        transcriber("no.such.module:Thing")
    with pytest.raises(AsrError, match="no transcribe"):
        transcriber("media.asr:AsrError")


def test_faint_noise_gives_no_words(asr: PocketsphinxTranscriber) -> None:
    noise = np.random.default_rng(3).integers(-60, 60, 16000).astype(np.int16)
    assert asr.transcribe(noise, 8000, words=DIGIT_WORDS) == ""
