"""The callback scheduler: fires due callbacks once, survives restarts, settles what a
stop left behind. Time is a manual clock; the call service is a recorder of requests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from softswitch.callbacks import CallbackScheduler
from softswitch.store import Store
from softswitch.store.callbacks import Callback, CallbackStore
from softswitch.store.engine import Database
from softswitch.switch import SwitchError


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class CallService:
    def __init__(self, fail: set[str] | None = None) -> None:
        self.placed: list[dict[str, Any]] = []
        self.fail = fail or set()

    async def click2call(self, **kwargs: Any) -> str:
        if kwargs["destination_number"] in self.fail:
            raise SwitchError("no route to 999", 404)
        self.placed.append(kwargs)
        return kwargs["request_id"]


def callback(request_id: str, due_at: float, **fields: Any) -> Callback:
    values: dict[str, Any] = dict(
        request_id=request_id,
        account_id="account_1",
        agent_number="101",
        destination_number="919979271234",
        caller_id="15168148111",
        recording_option="both",
        transcript=False,
        time_zone="Asia/Kolkata",
        scheduled_at="2023-08-15 12:55:00",
        due_at=due_at,
        created_at=due_at - 3600,
    )
    values.update(fields)
    return Callback(**values)


@pytest.fixture
def db(store_url: str) -> Iterator[Database]:
    store = Store(store_url)
    yield store.db
    store.close()


def statuses(store: CallbackStore) -> dict[str, str]:
    return {cb.request_id: cb.status for cb in store.all("account_1")}


async def test_fires_each_callback_once_at_its_time(db) -> None:
    clock, calls = Clock(), CallService()
    store = CallbackStore(db)
    store.insert(callback("aaaaaaaaaa", clock.now + 60))
    store.insert(callback("bbbbbbbbbb", clock.now + 120, destination_number="102"))
    scheduler = CallbackScheduler(store, calls.click2call, clock=clock)
    assert await scheduler.run_due() == 0 and calls.placed == []
    assert scheduler.delay() == 1.0  # next one is a minute away: poll
    clock.now += 59.5
    assert scheduler.delay() == pytest.approx(0.5)
    clock.now += 0.5
    assert await scheduler.run_due() == 1
    assert calls.placed == [
        {
            "account_id": "account_1",
            "agent_number": "101",
            "destination_number": "919979271234",
            "caller_id": "15168148111",
            "recording_option": "both",
            "transcript": False,
            "request_id": "aaaaaaaaaa",
        }
    ]
    assert await scheduler.run_due() == 0  # never twice
    clock.now += 3600
    assert await scheduler.run_due() == 1
    assert statuses(store) == {"aaaaaaaaaa": "done", "bbbbbbbbbb": "done"}


async def test_a_call_that_cannot_be_placed_is_marked_failed(db) -> None:
    clock, calls = Clock(), CallService(fail={"999"})
    store = CallbackStore(db)
    store.insert(callback("cccccccccc", clock.now - 1, destination_number="999"))
    assert await CallbackScheduler(store, calls.click2call, clock=clock).run_due() == 0
    [cb] = store.all("account_1")
    assert cb.status == "failed" and "no route" in cb.error


async def test_restart_runs_recent_misses_and_marks_old_ones(db) -> None:
    clock, calls = Clock(), CallService()
    store = CallbackStore(db)
    store.insert(callback("0000000001", clock.now - 60))  # due a minute ago: still placed
    store.insert(callback("0000000002", clock.now - 3 * 3600))  # hours ago: missed
    store.insert(callback("0000000003", clock.now + 600))  # future: waits
    store.insert(callback("0000000004", clock.now - 30, status="firing"))  # cut by a crash
    scheduler = CallbackScheduler(CallbackStore(db), calls.click2call, clock=clock)
    await scheduler.start()
    try:
        assert [c["request_id"] for c in calls.placed] == ["0000000001"]
        assert statuses(store) == {
            "0000000001": "done",
            "0000000002": "missed",
            "0000000003": "pending",
            "0000000004": "failed",
        }
    finally:
        await scheduler.stop()


async def test_the_running_scheduler_fires_by_itself(db) -> None:
    # real time here: the watcher sleeps on the loop; the assertion is on what happened
    import time

    calls = CallService()
    store = CallbackStore(db)
    scheduler = CallbackScheduler(store, calls.click2call, poll=0.05)
    await scheduler.start()
    try:
        store.insert(callback("dddddddddd", time.time() + 0.2))
        for _ in range(200):
            if calls.placed:
                break
            await asyncio.sleep(0.02)
        assert [c["request_id"] for c in calls.placed] == ["dddddddddd"]
    finally:
        await scheduler.stop()


async def test_a_deleted_callback_is_not_fired(db) -> None:
    clock, calls = Clock(), CallService()
    store = CallbackStore(db)
    store.insert(callback("eeeeeeeeee", clock.now - 1))
    assert store.delete_pending("account_1", "eeeeeeeeee")
    assert await CallbackScheduler(store, calls.click2call, clock=clock).run_due() == 0
    assert calls.placed == []


async def test_two_schedulers_on_one_store_place_a_callback_once(db) -> None:
    clock, calls = Clock(), CallService()
    store = CallbackStore(db)
    store.insert(callback("ffffffffff", clock.now - 1))
    first = CallbackScheduler(store, calls.click2call, clock=clock)
    second = CallbackScheduler(CallbackStore(db), calls.click2call, clock=clock)
    assert await first.run_due() + await second.run_due() == 1
    assert len(calls.placed) == 1


async def test_a_callback_another_node_is_placing_is_left_to_it(db) -> None:
    clock, calls = Clock(), CallService()
    store = CallbackStore(db)
    store.insert(callback("1111111111", clock.now - 5))
    store.insert(callback("2222222222", clock.now - 5))
    assert store.claim("1111111111", clock.now - 1, "a")  # node a is placing it right now
    assert store.claim("2222222222", clock.now - 1, "b")  # b's previous process died
    b = CallbackScheduler(CallbackStore(db), calls.click2call, clock=clock, node_id="b", lease=10)
    await b.start()
    try:
        assert statuses(store) == {"1111111111": "firing", "2222222222": "failed"}
        clock.now += 5
        b.settle_stale(clock.now)  # a's claim is 6 s old: a is still alive
        assert statuses(store)["1111111111"] == "firing"
        clock.now += 5
        b.settle_stale(clock.now)  # 11 s: a died placing it (calling twice is worse)
        assert statuses(store)["1111111111"] == "failed"
        assert calls.placed == []
    finally:
        await b.stop()
