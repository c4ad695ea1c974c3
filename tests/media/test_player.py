"""Player: frames per tick, repeats with pauses, barge-in, completion."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from media.clock import MediaClock
from media.pcm import FRAME
from media.player import Player, PlayResult


def prompt(frames: int, start: int = 1) -> np.ndarray:
    """Frame i holds the value start + i everywhere: easy to follow through playback."""
    return np.repeat(np.arange(start, start + frames, dtype=np.int16), FRAME)


def drain(player: Player, limit: int = 10_000) -> list[int]:
    out = []
    for _ in range(limit):
        frame = player.next_frame()
        if frame is None:
            return out
        assert frame.shape == (FRAME,) and frame.dtype == np.int16
        out.append(int(frame[0]))
    raise AssertionError("player never finished")


def test_plays_frames_in_order_then_finishes() -> None:
    done: list[PlayResult] = []
    player = Player(prompt(3), on_done=done.append)
    assert drain(player) == [1, 2, 3]
    assert done == [PlayResult("finished", None, 3, 1)]
    assert player.next_frame() is None and len(done) == 1


def test_partial_last_frame_is_padded_with_silence() -> None:
    player = Player(np.full(FRAME + 10, 7, dtype=np.int16))
    player.next_frame()
    last = player.next_frame()
    assert last is not None and (last[:10] == 7).all() and not last[10:].any()


def test_repeat_with_pause_and_no_trailing_pause() -> None:
    player = Player(prompt(2), repeat=3, pause_ms=40)
    assert drain(player) == [1, 2, 0, 0, 1, 2, 0, 0, 1, 2]
    assert player.result == PlayResult("finished", None, 10, 3)
    assert player.duration_frames == 10


def test_pause_rounds_up_to_whole_frames() -> None:
    assert drain(Player(prompt(1), repeat=2, pause_ms=30)) == [1, 0, 0, 1]


def test_parts_are_concatenated() -> None:
    assert drain(Player([prompt(1, 5), prompt(2, 8)])) == [5, 8, 9]


def test_endless_until_stopped() -> None:
    player = Player(prompt(2), repeat=None, pause_ms=20)
    got = [int(player.next_frame()[0]) for _ in range(9)]
    assert got == [1, 2, 0] * 3
    assert player.duration_frames is None
    player.stop()
    assert player.next_frame() is None
    assert player.result == PlayResult("stopped", None, 9, 3)


def test_barge_in_only_on_stop_digits() -> None:
    player = Player(prompt(5), stop_digits="#5")
    player.next_frame()
    assert player.dtmf("1") is False and not player.done
    player.next_frame()
    assert player.dtmf("#") is True
    assert player.result == PlayResult("dtmf", "#", 2, 0)
    assert player.next_frame() is None
    assert player.dtmf("5") is False  # already over: reported once


def test_stop_digits_match_letters_case_insensitively() -> None:
    player = Player(prompt(3), stop_digits="A")
    assert player.dtmf("a") and player.result.digit == "A"


def test_empty_audio_finishes_at_once() -> None:
    player = Player(np.zeros(0, dtype=np.int16))
    assert player.next_frame() is None and player.result.reason == "finished"


def test_frames_are_read_only_views() -> None:
    frame = Player(prompt(2)).next_frame()
    with pytest.raises(ValueError):
        frame[0] = 0


@pytest.mark.parametrize("kwargs", [{"repeat": 0}, {"pause_ms": -1}, {"stop_digits": "1x"}])
def test_invalid_arguments(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        Player(prompt(1), **kwargs)


async def test_wait_and_await_return_the_result() -> None:
    player = Player(prompt(2))
    waiter = asyncio.ensure_future(player.wait())
    awaited = asyncio.ensure_future(_await(player))
    await asyncio.sleep(0)
    assert not waiter.done()
    drain(player)
    assert (await waiter).reason == "finished"
    assert (await awaited).frames_played == 2


async def _await(player: Player) -> PlayResult:
    return await player


async def test_driven_by_the_media_clock() -> None:
    clock = MediaClock(interval=0.002)
    sent: list[int] = []
    player = Player(prompt(4), repeat=2, pause_ms=20)

    def tick(_: int) -> None:
        frame = player.next_frame()
        if frame is not None:
            sent.append(int(frame[0]))

    clock.add(tick)
    clock.start()
    try:
        result = await asyncio.wait_for(player.wait(), 5)
    finally:
        clock.stop()
    assert sent == [1, 2, 3, 4, 0, 1, 2, 3, 4]
    assert result == PlayResult("finished", None, 9, 2)
