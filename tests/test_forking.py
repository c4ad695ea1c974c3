"""Which fork's outcome a forked call reports (the SIP side: tests/e2e/test_forked_calls.py)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from softswitch.forking import AllForksFailed, NoAnswer, first_answer
from softswitch.sip.errors import SipError


@dataclass
class Outcome:
    status: int


@dataclass
class Fork:
    """Stands in for OutgoingInvite: answers `status` after `delay` seconds."""

    status: int | None
    delay: float = 0.0
    cancelled: bool = False

    async def run(self) -> Outcome:
        await asyncio.sleep(self.delay)
        if self.cancelled:
            return Outcome(487)
        if self.status is None:
            raise SipError("timeout")
        return Outcome(self.status)

    async def cancel(self) -> None:
        self.cancelled = True


async def outcome(*forks: Fork) -> tuple[int, int]:
    winner, response = await first_answer(list(forks))  # type: ignore[arg-type]
    return forks.index(winner), response.status


async def test_first_answer_wins_and_the_others_are_cancelled() -> None:
    slow, fast = Fork(200, delay=0.2), Fork(200, delay=0.01)
    assert await outcome(slow, fast) == (1, 200)
    await asyncio.sleep(0)
    assert slow.cancelled and not fast.cancelled


async def test_busy_beats_unavailable_and_not_found_beats_server_error() -> None:
    assert await outcome(Fork(480), Fork(486, delay=0.01), Fork(408)) == (1, 486)
    assert await outcome(Fork(503), Fork(404, delay=0.01)) == (1, 404)


async def test_a_decline_ends_the_call_on_every_device() -> None:
    ringing = Fork(200, delay=1.0)
    assert await outcome(Fork(603, delay=0.01), ringing) == (0, 603)
    await asyncio.sleep(0)
    assert ringing.cancelled


async def test_a_failed_transport_on_one_device_does_not_matter() -> None:
    assert await outcome(Fork(None), Fork(200, delay=0.01)) == (1, 200)
    with pytest.raises(AllForksFailed):
        await outcome(Fork(None), Fork(None))


async def test_waiting_stops_for_a_device_that_never_responds() -> None:
    silent, rejected = Fork(487, delay=0.3), Fork(487, delay=0.01)
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_later(0.05, stop.set_result, None)
    with pytest.raises(NoAnswer):
        await first_answer([silent, rejected], stop)  # type: ignore[list-item]
    await asyncio.sleep(0)
    assert silent.cancelled
    await asyncio.sleep(0.3)  # its INVITE transaction ends on its own
