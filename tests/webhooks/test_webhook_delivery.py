"""The delivery worker against a real receiver (uvicorn on 127.0.0.1): order per account,
signatures, retries with back-off, a receiver answering 500 or hanging holding up only
its own account, a receiver that was down getting everything, the retry period's end."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from softswitch.config import ConfigError, WebhooksConfig, from_dict
from softswitch.store import Store
from softswitch.store.webhooks import DeliveryStatus
from softswitch.webhooks.delivery import backoff
from softswitch.webhooks.events import EventType
from softswitch.webhooks.service import Webhooks
from softswitch.webhooks.signing import HEADER, verify
from tests.peers.webhook_receiver import WebhookReceiver

FAST = WebhooksConfig(backoff_first_ms=50, backoff_max=1, timeout_ms=500)


@pytest.fixture
def receiver(ports) -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(ports.port())
    yield r
    r.stop()


@pytest.fixture
async def hooks(store_url):
    store = Store(store_url)
    made: list[Webhooks] = []

    async def make(config: WebhooksConfig = FAST) -> Webhooks:
        webhooks = Webhooks(store.db, config, ("127.0.0.1", 1))
        made.append(webhooks)
        return webhooks

    yield make
    for webhooks in made:
        await webhooks.stop()
    store.close()


async def until(predicate, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def emit(webhooks: Webhooks, account: str, n: int, request_id: str = "r1") -> list[str]:
    ids = [
        webhooks.events.emit(account, EventType.CALL_RINGING, request_id, {"n": i})
        for i in range(n)
    ]
    assert all(ids)
    return [i for i in ids if i is not None]


async def test_events_arrive_in_order_signed_and_are_marked_delivered(hooks, receiver) -> None:
    receiver.start()
    webhooks = await hooks()
    secret = (await webhooks.settings.set_url("acc", receiver.url("/a"))).new_secret
    await webhooks.start()
    ids = emit(webhooks, "acc", 20)
    await until(lambda: len(receiver.received()) == 20, what="20 events")
    arrivals = receiver.received()
    assert [a.event["id"] for a in arrivals] == ids
    assert [a.event["data"]["n"] for a in arrivals] == list(range(20))
    for a in arrivals:
        verify(secret, a.headers[HEADER.lower()], a.body, now=time.time())
        assert a.headers["softswitch-event-id"] == a.event["id"]
        assert a.event["type"] == "call.ringing" and a.event["account_id"] == "acc"
        assert a.event["request_id"] == "r1" and a.event["created_at"].endswith("Z")
    await until(lambda: webhooks.store.backlog() == 0, what="backlog empty")
    events, total = webhooks.store.listing("acc", DeliveryStatus.DELIVERED)
    assert total == 20 and all(len(e.tried) == 1 for e in events)
    assert events[0].tried[0].status_code == 204 and events[0].tried[0].error == ""


async def test_no_url_no_events(hooks) -> None:
    webhooks = await hooks()
    assert webhooks.events.emit("acc", EventType.CALL_INITIATED, "r", {}) is None
    assert webhooks.store.backlog() == 0


async def test_a_failing_or_hanging_receiver_holds_up_only_its_own_account(hooks, receiver) -> None:
    receiver.modes = {"/broken": "fail", "/slow": "hang"}
    receiver.start()
    webhooks = await hooks(WebhooksConfig(backoff_first_ms=50, backoff_max=1, timeout_ms=2000))
    for account, path in (("broken", "/broken"), ("slow", "/slow"), ("fine", "/fine")):
        await webhooks.settings.set_url(account, receiver.url(path))
    await webhooks.start()
    emit(webhooks, "broken", 3)
    emit(webhooks, "slow", 3)
    await until(lambda: receiver.received("/slow"), what="the hanging try")
    emit(webhooks, "fine", 30)
    await until(lambda: len(receiver.received("/fine")) == 30, what="the fine account's events")
    # all in while the slow account's first try still hangs (2 s): nobody waited for it
    assert not webhooks.store.listing("slow")[0][-1].tried
    # the broken account is retried with back-off; only its first event is tried, in order
    await until(lambda: len(receiver.received("/broken")) >= 3, what="retries")
    assert {a.event["data"]["n"] for a in receiver.received("/broken")} == {0}

    def first_broken():
        broken, _ = webhooks.store.listing("broken", DeliveryStatus.PENDING)
        return min(broken, key=lambda e: e.seq)

    # a try is stored once its answer is handled, a moment after the receiver saw it
    await until(lambda: len(first_broken().tried) >= 3, what="three tries stored")
    first = first_broken()
    assert [t.status_code for t in first.tried][:3] == [500, 500, 500]
    assert first.tried[0].error == "HTTP 500"
    gaps = [b.at - a.at for a, b in zip(first.tried, first.tried[1:], strict=False)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1  # 50 ms, then twice that
    await until(lambda: webhooks.store.listing("slow")[0][-1].tried, what="a timed-out try")
    slow = webhooks.store.listing("slow")[0][-1].tried[0]
    assert slow.status_code is None and slow.error == "no answer within 2 s"
    # repaired: everything arrives, still in order
    receiver.modes = {}
    await until(lambda: webhooks.store.backlog() == 0, timeout=15, what="backlog empty")
    for path in ("/broken", "/slow"):
        seen = [e["data"]["n"] for e in receiver.events(path)]
        assert sorted(set(seen)) == [0, 1, 2]
        firsts = [seen.index(n) for n in (0, 1, 2)]
        assert firsts == sorted(firsts)


async def test_a_receiver_that_was_down_gets_everything_when_back(hooks, receiver) -> None:
    webhooks = await hooks()
    await webhooks.settings.set_url("acc", receiver.url("/a"))
    await webhooks.start()
    ids = emit(webhooks, "acc", 5)
    await until(lambda: webhooks.store.listing("acc")[0][-1].attempts >= 2, what="refused attempts")
    first = webhooks.store.listing("acc")[0][-1].tried[0]
    assert first.status_code is None and "ConnectError" in first.error
    receiver.start()
    await until(lambda: len(receiver.received()) == 5, timeout=5, what="all five")
    assert [e["id"] for e in receiver.events()] == ids


async def test_an_event_failing_for_the_whole_retry_period_is_given_up(hooks, receiver) -> None:
    receiver.modes = {"/a": "fail"}
    receiver.start()
    config = WebhooksConfig(retry_for=1, backoff_first_ms=100, backoff_max=1, timeout_ms=500)
    webhooks = await hooks(config)
    await webhooks.settings.set_url("acc", receiver.url("/a"))
    await webhooks.start()
    emit(webhooks, "acc", 1)
    await until(lambda: webhooks.store.listing("acc", DeliveryStatus.FAILED)[1] == 1)
    failed = webhooks.store.listing("acc", DeliveryStatus.FAILED)[0][0]
    assert 2 <= len(failed.tried) <= 5 and failed.finished_at is not None
    receiver.modes = {}
    emit(webhooks, "acc", 1)  # the next one is not held behind a failed one
    await until(lambda: webhooks.store.listing("acc", DeliveryStatus.DELIVERED)[1] == 1)


async def test_a_redirect_is_not_followed_but_retried(hooks, receiver) -> None:
    receiver.modes = {"/a": "redirect"}
    receiver.start()
    webhooks = await hooks()
    await webhooks.settings.set_url("acc", receiver.url("/a"))
    await webhooks.start()
    emit(webhooks, "acc", 1)
    await until(lambda: webhooks.store.listing("acc")[0][0].attempts >= 2, what="two tries")
    assert {a.path for a in receiver.received()} == {"/a"}  # never /ok
    assert webhooks.store.listing("acc")[0][0].tried[0].error == "HTTP 307"


async def test_events_of_an_account_whose_url_was_removed_fail_at_once(hooks) -> None:
    webhooks = await hooks()
    await webhooks.settings.set_url("acc", "http://127.0.0.1:9/")
    emit(webhooks, "acc", 2)
    await webhooks.settings.set_url("acc", "")
    await webhooks.start()
    await until(lambda: webhooks.store.listing("acc", DeliveryStatus.FAILED)[1] == 2)
    assert "no status_callback" in webhooks.store.listing("acc")[0][0].tried[0].error


def test_backoff_doubles_up_to_its_cap() -> None:
    config = WebhooksConfig(backoff_first_ms=5000, backoff_max=60)
    assert [backoff(config, n) for n in (1, 2, 3, 4, 5, 100)] == [5, 10, 20, 40, 60, 60]
    defaults = WebhooksConfig()
    assert (defaults.retry_for, defaults.backoff_first_ms, defaults.backoff_max) == (
        86_400,
        5_000,
        3_600,
    )


@pytest.mark.parametrize(
    ("section", "why"),
    [
        ({"backoff_first_ms": 0}, "webhooks.backoff_first_ms must be 1 to"),
        ({"retry_for": -5}, "webhooks.retry_for must be 1 to"),
        ({"timeout_ms": 5}, "webhooks.timeout_ms must be 100 to"),
        ({"max_concurrent": 0}, "webhooks.max_concurrent must be 1 to"),
        ({"keep_days": 0}, "webhooks.keep_days must be 1 to"),
        ({"backoff_max": "soon"}, "expected int"),
        ({"retries": 3}, "unknown key"),
    ],
)
def test_wrong_config_values_are_refused(section: dict, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        from_dict({"webhooks": section}, {})


async def test_settled_events_are_forgotten_after_keep_days_pending_ones_never(
    hooks, receiver
) -> None:
    receiver.start()
    webhooks = await hooks()
    await webhooks.settings.set_url("acc", receiver.url("/a"))
    await webhooks.start()
    emit(webhooks, "acc", 3)
    await until(lambda: webhooks.store.backlog() == 0, what="delivered")
    await webhooks.stop()
    await webhooks.settings.set_url("acc", "http://127.0.0.1:9/")  # nobody: stays pending
    emit(webhooks, "acc", 1)
    # two weeks later, the default keep_days (7) has passed for all four
    month = WebhooksConfig(retry_for=30 * 86_400, backoff_first_ms=50, timeout_ms=500)
    later = Webhooks(
        webhooks.store.db, month, ("127.0.0.1", 1), clock=lambda: time.time() + 14 * 86_400
    )
    await later.start()
    await until(lambda: later.store.listing("acc")[1] == 1, what="the settled ones forgotten")
    [left] = later.store.listing("acc")[0]
    assert left.status is DeliveryStatus.PENDING
    attempts = later.store.db.execute("SELECT COUNT(*) FROM webhook_attempts").fetchone()[0]
    assert attempts == len(left.tried)  # the forgotten events' attempts went with them
    await later.stop()


async def test_two_nodes_on_one_store_post_each_event_once(tmp_path, receiver) -> None:
    receiver.start()
    stores = [Store(tmp_path / "shared.db") for _ in range(2)]
    nodes = [
        Webhooks(s.db, FAST, ("127.0.0.1", 1), node_id=name)
        for s, name in zip(stores, ("a", "b"), strict=True)
    ]
    try:
        accounts = [f"acc{i}" for i in range(6)]
        for account in accounts:
            await nodes[0].settings.set_url(account, receiver.url(f"/{account}"))
        for node in nodes:
            await node.start()
        ids = {account: emit(nodes[i % 2], account, 15) for i, account in enumerate(accounts)}
        total = 15 * len(accounts)
        await until(lambda: len(receiver.received()) >= total, what="every event")
        await asyncio.sleep(0.3)  # a duplicate would arrive about now
        arrivals = receiver.received()
        assert len(arrivals) == total
        for account in accounts:
            got = [a.event["id"] for a in arrivals if a.path == f"/{account}"]
            assert got == ids[account]  # once each, in order
    finally:
        for node in nodes:
            await node.stop()
        for s in stores:
            s.close()


async def test_a_lane_held_by_another_node_waits_for_its_lease(tmp_path, receiver) -> None:
    receiver.start()
    store = Store(tmp_path / "shared.db")
    survivor = Webhooks(store.db, FAST, ("127.0.0.1", 1), node_id="b", lease=1.0)
    try:
        await survivor.settings.set_url("acc", receiver.url("/acc"))
        # node "a" opened the lane, then died: its lease runs out in 1.5 s
        assert survivor.worker.lanes.take("acc", "a", time.time(), time.time() + 1.5)
        await survivor.start()
        emit(survivor, "acc", 3)
        await asyncio.sleep(0.8)
        assert receiver.received() == []  # not b's to post yet
        await until(lambda: len(receiver.received()) == 3, what="b takes the lane over")
        holder = survivor.worker.lanes.holder("acc")
        assert holder is None or holder[0] == "b"  # released when the lane ended, or b's
    finally:
        await survivor.stop()
        store.close()
