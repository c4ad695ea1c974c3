"""The answering-machine detector: the generated corpus through G.711 (accuracy, beep
timing), and the app_amd rules one at a time on synthetic audio."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

from media.amd import MAX_BEEP, AmdSettings, AnsweredBy, AnsweringMachineDetector, detect
from media.pcm import FRAME, RATE
from tests.peers import greetings


@pytest.fixture(scope="module")
def corpus() -> list[greetings.Greeting]:
    reason = greetings.available()
    if reason is not None:
        pytest.skip(reason)
    return greetings.corpus()


def _line(g: greetings.Greeting, i: int) -> np.ndarray:
    return greetings.through_g711(g.samples, "ulaw" if i % 2 else "alaw")


def test_corpus_human_vs_machine_accuracy(corpus):
    assert len(corpus) >= 40
    assert sum(g.machine for g in corpus) >= 20 and sum(g.noisy for g in corpus) >= 10
    wrong = []
    for i, g in enumerate(corpus):
        result = detect(_line(g, i))
        said_machine = result.answered_by.machine
        if said_machine != g.machine or result.answered_by is AnsweredBy.UNKNOWN:
            wrong.append((g.name, result))
        # every decision within app_amd's total analysis time
        assert result.at <= 5.0 + 1e-9
    assert len(wrong) / len(corpus) <= 0.05, wrong


def test_corpus_beeps_found_within_300_ms_of_their_start(corpus):
    beeps = [(i, g) for i, g in enumerate(corpus) if g.beep_at is not None]
    assert len(beeps) >= 10
    found_after = AmdSettings().beep_length
    for i, g in beeps:
        result = detect(_line(g, i), until_end=True)
        assert result.answered_by is AnsweredBy.MACHINE_END_BEEP, (g.name, result)
        assert result.beep_at is not None and g.beep_at is not None and g.beep_end is not None
        # told apart from speech beep_length after its start: that is when it is found
        assert 0.0 <= result.beep_at + found_after - g.beep_at <= 0.3, (g.name, result)
        assert abs(result.beep_at - g.beep_at) <= 0.1
        # the greeting is over when the tone is: the message then starts after the beep
        assert 0.0 <= result.at - g.beep_end <= 0.1, (g.name, result, g.beep_end)


def test_corpus_machines_without_beep_end_on_silence(corpus):
    for i, g in enumerate(corpus):
        if not g.machine or g.beep_at is not None:
            continue
        result = detect(_line(g, i), until_end=True)
        assert result.answered_by is AnsweredBy.MACHINE_END_SILENCE, (g.name, result)
        # the greeting is over (its audio ends before the tail of silence) when it says so
        assert result.at * RATE >= len(g.samples) - 8.0 * RATE


# -- the rules on synthetic audio --------------------------------------------------------


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.int16)


def _burst(seconds: float, seed: int = 1) -> np.ndarray:
    """Speech-like: loud noise with no steady tone in it."""
    rng = np.random.default_rng(seed)
    return np.round(rng.normal(0, 3000, int(seconds * RATE))).astype(np.int16)


def _tone(freq: float, seconds: float, amplitude: float = 6000.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return np.round(amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def test_silence_is_unknown_after_the_initial_silence():
    result = detect(_silence(6.0))
    assert result.answered_by is AnsweredBy.UNKNOWN and result.cause == "INITIALSILENCE"
    assert result.at == pytest.approx(2.5)


def test_a_short_word_then_silence_is_a_human():
    result = detect(np.concatenate([_silence(0.4), _burst(0.5), _silence(3.0)]))
    assert result.answered_by is AnsweredBy.HUMAN
    assert result.at == pytest.approx(0.4 + 0.5 + 0.8, abs=0.03)


def test_results_say_where_voice_was_first_heard():
    # what places a call's greeting on the detector's time line (the phone may start
    # playing it a few frames after the answer): the first voiced frame's start
    human = detect(np.concatenate([_silence(0.4), _burst(0.5), _silence(3.0)]))
    assert human.heard_at == pytest.approx(0.4, abs=0.02)
    beep = np.concatenate([_silence(0.7), _burst(2.0), _silence(0.3), _tone(1000.0, 0.5)])
    machine = detect(np.concatenate([beep, _silence(3.0)]), until_end=True)
    assert machine.answered_by is AnsweredBy.MACHINE_END_BEEP
    assert machine.heard_at == pytest.approx(0.7, abs=0.02)
    assert machine.beep_at == pytest.approx(3.0, abs=0.02)
    assert detect(_silence(6.0)).heard_at is None


def test_more_words_than_the_maximum_is_a_machine():
    words = [np.concatenate([_burst(0.15, seed), _silence(0.1)]) for seed in range(5)]
    result = detect(np.concatenate([_silence(0.2), *words, _silence(3.0)]))
    assert result.answered_by is AnsweredBy.MACHINE_START and result.cause == "MAXWORDS-4"


def test_a_long_greeting_is_a_machine():
    result = detect(np.concatenate([_silence(0.3), _burst(3.0), _silence(2.0)]))
    assert result.answered_by is AnsweredBy.MACHINE_START and result.cause == "LONGGREETING"
    assert result.at == pytest.approx(0.3 + 1.52, abs=0.03)


def test_talk_that_never_settles_is_unknown_at_the_total():
    # words too short to count, never followed by a long enough silence
    settings = AmdSettings(maximum_words=50)
    chunks = [np.concatenate([_burst(0.06, s), _silence(0.3)]) for s in range(30)]
    result = detect(np.concatenate(chunks), settings)
    assert result.answered_by is AnsweredBy.UNKNOWN and result.cause == "TOOLONG"
    assert result.at == pytest.approx(5.0)


def test_a_steady_tone_in_band_is_a_beep_and_out_of_band_is_not():
    for freq in (400.0, 1000.0, 1950.0):
        audio = np.concatenate([_silence(0.5), _tone(freq, 0.5), _silence(2.0)])
        result = detect(audio, until_end=True)
        assert result.answered_by is AnsweredBy.MACHINE_END_BEEP, freq
        assert result.beep_at == pytest.approx(0.5, abs=0.02)
        assert result.at == pytest.approx(1.0, abs=0.03)  # when the tone stopped
        first = detect(audio)
        assert first.answered_by is AnsweredBy.MACHINE_START and first.cause == "BEEP"
    for freq in (250.0, 2600.0):
        audio = np.concatenate([_silence(0.5), _tone(freq, 0.5), _silence(2.0)])
        assert detect(audio).cause != "BEEP", freq


def test_a_tone_shorter_than_the_beep_length_is_no_beep():
    audio = np.concatenate([_silence(0.5), _tone(1000.0, 0.06), _silence(2.0)])
    assert detect(audio, until_end=True).cause != "BEEP"


def test_a_tone_that_never_stops_ends_the_wait_after_the_longest_beep():
    result = detect(np.concatenate([_silence(0.5), _tone(1000.0, 10.0)]), until_end=True)
    # (the tone is never taken for the line's noise floor: that looks back further)
    assert result.answered_by is AnsweredBy.MACHINE_END_BEEP
    assert result.at == pytest.approx(0.6 + MAX_BEEP, abs=0.03)


def test_waiting_for_the_end_gives_other_at_the_timeout():
    settings = AmdSettings(end_timeout=8.0)
    talk = [np.concatenate([_burst(0.3, seed), _silence(0.1)]) for seed in range(30)]
    result = detect(np.concatenate([_silence(0.2), *talk]), settings, until_end=True)
    assert result.answered_by is AnsweredBy.MACHINE_END_OTHER
    assert result.at == pytest.approx(8.0)


def test_the_detector_keeps_its_first_decision_and_answers_once():
    detector = AnsweringMachineDetector(until_end=True)
    audio = np.concatenate(
        [_silence(0.2), _burst(2.0), _silence(0.3), _tone(1000.0, 0.3), _silence(1.0)]
    )
    results = [detector.feed(audio[i : i + FRAME]) for i in range(0, len(audio), FRAME)]
    decided = [r for r in results if r is not None]
    assert len(decided) == 1 and decided[0].answered_by is AnsweredBy.MACHINE_END_BEEP
    assert detector.first is not None and detector.first.answered_by is AnsweredBy.MACHINE_START
    assert detector.first.at < decided[0].at


@pytest.mark.parametrize("rms", [150.0, 600.0])
def test_line_noise_alone_is_silence(rms):
    # 600 RMS (-35 dBFS) is above app_amd's fixed threshold: the noise floor lifts it
    noise = np.clip(np.round(greetings.line_noise(6 * RATE, 7, rms=rms)), -32768, 32767)
    result = detect(noise.astype(np.int16))
    assert result.answered_by is AnsweredBy.UNKNOWN and result.cause == "INITIALSILENCE"


@pytest.mark.parametrize("frames", [1, 5, 25])
def test_digital_silence_before_the_line_noise_does_not_make_the_noise_talk(corpus, frames):
    """A phone or gateway may send digital silence before the line's own sound (a real
    call did, once): the noisy answers still come out as they do without it."""
    lead = _silence(frames * FRAME / RATE)
    for i, g in enumerate(corpus):
        if not g.noisy:
            continue
        alone = detect(_line(g, i), until_end=True)
        after = detect(
            _line(replace(g, samples=np.concatenate([lead, g.samples])), i), until_end=True
        )
        assert after.answered_by is alone.answered_by, (g.name, alone, after)
        assert after.answered_by.machine == g.machine, (g.name, after)


def test_a_loud_sound_after_digital_silence_keeps_the_silences_floor():
    # a tone is never the floor: the beep stays voiced until it ends
    result = detect(
        np.concatenate([_silence(0.5), _tone(1000.0, 2.0), _silence(2.0)]), until_end=True
    )
    assert result.answered_by is AnsweredBy.MACHINE_END_BEEP
    assert result.at == pytest.approx(2.5 + 0.02, abs=0.03)


def test_speech_over_loud_line_noise_is_still_told_apart(corpus):
    """Every answer with noise at -37 dBFS added all along, above app_amd's threshold."""
    right = 0
    for i, g in enumerate(corpus):
        noisy = g.samples + greetings.line_noise(len(g.samples), 1000 + i, rms=450.0)
        line = greetings.through_g711(np.clip(np.round(noisy), -32768, 32767).astype(np.int16))
        result = detect(line)
        right += result.answered_by.machine == g.machine and result.answered_by.value != "unknown"
    assert right / len(corpus) >= 0.9


def test_audio_that_stops_coming_times_out():
    detector = AnsweringMachineDetector()
    assert detector.timed_out().answered_by is AnsweredBy.UNKNOWN
    detector = AnsweringMachineDetector(until_end=True)
    audio = np.concatenate([_silence(0.2), _burst(2.0)])
    for i in range(0, len(audio), FRAME):
        assert detector.feed(audio[i : i + FRAME]) is None
    assert detector.timed_out().answered_by is AnsweredBy.MACHINE_END_OTHER


@pytest.mark.parametrize(
    "bad",
    [
        {"greeting": 0},
        {"initial_silence": -1.0},
        {"maximum_words": 0},
        {"beep_low_hz": 2500.0},
        {"beep_high_hz": 5000.0},
        {"beep_purity": 1.5},
    ],
)
def test_wrong_settings_are_refused(bad):
    with pytest.raises(ValueError):
        AmdSettings(**bad)


def test_per_frame_cost_is_small():
    audio = np.concatenate([_silence(0.2), _burst(5.0)])
    detector = AnsweringMachineDetector(AmdSettings(greeting=100.0, maximum_words=99, total=99))
    frames = [audio[i : i + FRAME] for i in range(0, len(audio) - FRAME + 1, FRAME)]
    start = time.process_time()
    for frame in frames:
        detector.feed(frame)
    per_frame = (time.process_time() - start) / len(frames)
    assert per_frame < 200e-6  # voiced frames (FFT) on a loaded 2-core machine
