"""The energy VAD: speech starts after a short voiced run, ends after the pause, and
steady line noise does not count as speech."""

from __future__ import annotations

import numpy as np
import pytest

from media.pcm import FRAME
from media.vad import Vad, VadEvent, level_db


def frames(samples: np.ndarray) -> list[np.ndarray]:
    n = len(samples) // FRAME
    return list(samples[: n * FRAME].reshape(n, FRAME))


def noise(seconds: float, db: float, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    amplitude = 32768 * 10 ** (db / 20)
    return np.clip(rng.normal(0, amplitude, int(8000 * seconds)), -32768, 32767).astype(np.int16)


def events(vad: Vad, samples: np.ndarray) -> list[tuple[int, VadEvent]]:
    return [(i, e) for i, f in enumerate(frames(samples)) if (e := vad.feed(f)) is not None]


def test_level_of_silence_and_full_scale() -> None:
    assert level_db(np.zeros(FRAME, np.int16)) == -100.0
    assert level_db(np.full(FRAME, 32767, np.int16)) == pytest.approx(0.0, abs=0.01)


def test_a_word_between_silences_starts_and_ends_speech() -> None:
    audio = np.concatenate([noise(0.5, -70), noise(0.8, -20, seed=2), noise(1.0, -70)])
    found = events(Vad(start_ms=80, end_ms=600), audio)
    assert [e for _, e in found] == [VadEvent.START, VadEvent.END]
    (start, _), (end, _) = found
    assert start == 25 + 3  # the fourth loud frame decides
    assert end == 25 + 40 + 29  # 600 ms of quiet after the last loud frame


def test_steady_line_noise_is_not_speech_but_talk_over_it_is() -> None:
    vad = Vad()
    assert events(vad, noise(3.0, -40)) == []
    loud = np.concatenate([noise(0.6, -15, seed=3), noise(1.0, -40, seed=4)])
    assert [e for _, e in events(vad, loud)] == [VadEvent.START, VadEvent.END]


def test_short_clicks_do_not_start_speech() -> None:
    click = np.concatenate([noise(0.04, -10), noise(0.3, -70)])
    assert events(Vad(start_ms=80), np.tile(click, 5)) == []


def test_bad_timings_are_refused() -> None:
    with pytest.raises(ValueError):
        Vad(end_ms=10)
