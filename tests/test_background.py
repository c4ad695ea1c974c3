"""softswitch.background: stopping a background task."""

from __future__ import annotations

import asyncio

from softswitch.background import cancel_and_wait


async def test_a_running_task_is_cancelled_and_has_ended_on_return() -> None:
    started = asyncio.Event()
    cleaned: list[str] = []

    async def forever() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        finally:
            cleaned.append("finally ran")

    task = asyncio.create_task(forever())
    await started.wait()
    await asyncio.wait_for(cancel_and_wait(task), 1)
    assert task.cancelled() and cleaned == ["finally ran"]


async def test_none_and_a_finished_task_are_fine() -> None:
    await cancel_and_wait(None)
    done = asyncio.create_task(asyncio.sleep(0))
    await done
    await cancel_and_wait(done)
    assert done.done() and not done.cancelled()
