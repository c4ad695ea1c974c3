"""The shared audio format: its constants agree with each other, and saturate() clips."""

import numpy as np
import pytest

from media.pcm import (
    FRAME,
    FRAME_MS,
    FRAME_SECONDS,
    INT16_MAX,
    INT16_MIN,
    RATE,
    SAMPLE_BYTES,
    SILENCE,
    saturate,
)


def test_frame_is_twenty_ms_of_g711() -> None:
    assert (RATE, FRAME, FRAME_MS) == (8000, 160, 20)
    assert FRAME_SECONDS == 0.020  # the media clock's default interval, exactly
    assert FRAME == RATE * FRAME_SECONDS
    assert np.dtype(np.int16).itemsize == SAMPLE_BYTES
    assert (np.iinfo(np.int16).min, np.iinfo(np.int16).max) == (INT16_MIN, INT16_MAX)


def test_silence_is_one_shared_read_only_frame() -> None:
    assert SILENCE.shape == (FRAME,) and SILENCE.dtype == np.int16 and not SILENCE.any()
    with pytest.raises(ValueError):
        SILENCE[0] = 1


def test_saturate_clips_instead_of_wrapping() -> None:
    x = np.array([0, 1, -1, 32767, 32768, 40000, -32768, -32769, -100000], dtype=np.int32)
    out = saturate(x.copy())
    assert out.dtype == np.int16
    assert out.tolist() == [0, 1, -1, 32767, 32767, 32767, -32768, -32768, -32768]
    # what a plain cast would have done: loud becomes its opposite
    assert x.astype(np.int16)[5] < 0


def test_saturate_works_in_place_on_its_argument() -> None:
    x = np.array([50000, -50000, 7], dtype=np.int32)
    saturate(x)
    assert x.tolist() == [32767, -32768, 7]  # documented: it clobbers the input


def test_a_mixed_frame_of_two_loud_legs() -> None:
    a = np.full(FRAME, 30000, dtype=np.int16)
    b = np.full(FRAME, 10000, dtype=np.int16)
    mixed = a.astype(np.int32)
    mixed += b
    assert (saturate(mixed) == INT16_MAX).all()
