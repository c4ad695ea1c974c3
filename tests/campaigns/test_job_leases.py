"""Several dialers on one store: claims with leases, campaign-wide pacing, lease expiry.

Each "node" has its own Store connection to the same database file, as separate
processes would; the scheduling tests share one manual clock and one scripted network.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from softswitch.campaigns.clock import ManualClock
from softswitch.campaigns.dialer import INTERRUPTED, Dialer
from softswitch.campaigns.manager import CampaignManager
from softswitch.campaigns.model import FINAL_STATUSES, Campaign, JobStatus
from softswitch.store import Store
from softswitch.store.job_leases import ClaimStatus, JobLeases
from softswitch.store.jobs import JobStore
from tests.campaigns.network import Behaviour, FakeNetwork


@pytest.fixture
def node_stores(store: Store, store_url: str) -> Iterator[Callable[[], Store]]:
    """Another connection to the campaigns' database: what another node holds."""
    opened: list[Store] = []

    def open_store() -> Store:
        s = Store(store_url)
        opened.append(s)
        return s

    yield open_store
    for s in opened:
        s.close()


def leases_of(s: Store) -> JobLeases:
    return JobLeases(s.db, JobStore(s.db))


def claim(leases: JobLeases, campaign: Campaign, now: float, node: str, **limits):
    limits.setdefault("lease_seconds", 30.0)
    limits.setdefault("max_simultaneous", 1000)
    limits.setdefault("interval", 0.0)
    return leases.claim_next(campaign.id, now, node=node, request_id=f"{node}{now}", **limits)


# -- the store: claims ---------------------------------------------------------------------


def test_threads_claiming_at_once_never_take_a_job_twice(
    manager, make_campaign, clock, node_stores
) -> None:
    campaign = make_campaign(calls_per_minute=0, max_simultaneous=1000)
    ids = manager.add_phones(campaign, [{"phone": str(10_000 + i)} for i in range(240)], None)
    taken: dict[str, list[int]] = {}
    errors: list[BaseException] = []
    now = clock.now()

    ready = threading.Barrier(6)
    # connected one after the other here (opening a store migrates it); then all claim
    nodes = {f"node{i}": leases_of(node_stores()) for i in range(6)}

    def claimer(node: str) -> None:
        leases = nodes[node]
        mine = taken.setdefault(node, [])
        try:
            ready.wait(30)
            while True:
                got = claim(leases, campaign, now, node)
                if got.status is ClaimStatus.EMPTY:
                    return
                assert got.status is ClaimStatus.CLAIMED and got.attempt is not None
                mine.append(got.attempt.job_id)
                # a node places the call before it claims again; without this pause one
                # thread on a busy machine could take all 240 before the others woke
                time.sleep(0.005)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(node,)) for node in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    claimed = Counter(job for jobs in taken.values() for job in jobs)
    assert sorted(claimed) == sorted(ids) and set(claimed.values()) == {1}
    assert sum(1 for jobs in taken.values() if jobs) > 1  # they did claim side by side
    attempts = manager.jobs.attempts(ids)
    assert len(attempts) == len(ids) and {a.number for a in attempts} == {1}
    assert leases_of(node_stores()).holders(campaign.id) == {
        node: len(jobs) for node, jobs in taken.items() if jobs
    }


def test_max_simultaneous_counts_every_nodes_live_leases(
    manager, make_campaign, clock, node_stores
) -> None:
    campaign = make_campaign(calls_per_minute=0, max_simultaneous=3)
    manager.add_phones(campaign, [{"phone": str(20_000 + i)} for i in range(6)], None)
    a, b = leases_of(node_stores()), leases_of(node_stores())
    now = clock.now()
    got = [claim(x, campaign, now, n, max_simultaneous=3) for x, n in ((a, "a"), (b, "b"))]
    got.append(claim(a, campaign, now, "a", max_simultaneous=3))
    assert [g.status for g in got] == [ClaimStatus.CLAIMED] * 3
    assert claim(b, campaign, now, "b", max_simultaneous=3).status is ClaimStatus.FULL
    # a call ends on node a: its lease goes with the outcome, and b may start one
    assert a.release(got[0].attempt.id, "a")
    assert not b.release(got[1].attempt.id, "a")  # a lease is released by its node only
    assert claim(b, campaign, now, "b", max_simultaneous=3).status is ClaimStatus.CLAIMED
    assert a.live(campaign.id, now) == 3
    # leases that expired (their node is gone) hold their line until taken over
    later = now + 31
    assert a.live(campaign.id, later) == 0
    assert claim(b, campaign, later, "b", max_simultaneous=3).status is ClaimStatus.FULL
    with b.db.transaction(serialized=False):
        assert b.take_over(got[1].attempt.job_id, later)
    assert claim(b, campaign, later, "b", max_simultaneous=3).status is ClaimStatus.CLAIMED


def test_the_pace_is_the_campaigns_not_each_claimers(
    manager, make_campaign, clock, node_stores
) -> None:
    campaign = make_campaign(calls_per_minute=60, max_simultaneous=100)
    manager.add_phones(campaign, [{"phone": str(30_000 + i)} for i in range(20)], None)
    a, b = leases_of(node_stores()), leases_of(node_stores())
    t0 = clock.now()
    starts: list[tuple[float, str]] = []
    # both claimers try every 0.25 s for 5 s: one start per second between them
    for step in range(20):
        now = t0 + step * 0.25
        for leases, node in ((a, "a"), (b, "b")):
            got = claim(leases, campaign, now, node, interval=1.0)
            if got.status is ClaimStatus.CLAIMED:
                starts.append((now, node))
            else:
                assert got.status is ClaimStatus.WAIT and got.wake_at is not None
                assert now < got.wake_at <= now + 1.0
    assert [at - t0 for at, _ in starts] == [0.0, 1.0, 2.0, 3.0, 4.0]
    # late claims keep the grid: the next slot stays 5.0 after a claim at 5.2
    assert claim(b, campaign, t0 + 5.2, "b", interval=1.0).status is ClaimStatus.CLAIMED
    assert claim(a, campaign, t0 + 5.9, "a", interval=1.0).wake_at == t0 + 6.0


def test_take_over_only_what_no_live_lease_covers(
    manager, make_campaign, clock, node_stores
) -> None:
    campaign = make_campaign(calls_per_minute=0)
    manager.add_phones(campaign, [{"phone": "40001"}, {"phone": "40002"}], None)
    a, b = leases_of(node_stores()), leases_of(node_stores())
    now = clock.now()
    first = claim(a, campaign, now, "a", lease_seconds=10).attempt
    second = claim(b, campaign, now, "b", lease_seconds=10).attempt
    assert b.stale(now + 5) == []  # both alive
    assert b.stale(now + 5, node="a") == [first.job_id]  # a restarted node "a": its own
    assert a.renew("a", [first.id], now + 20) == 1
    assert b.stale(now + 15) == [second.job_id]  # b stopped renewing; a did not
    assert not b.take_over(first.job_id, now + 15)
    with b.db.transaction(serialized=False):  # as the dialer does: taken over, resolved
        assert b.take_over(second.job_id, now + 15)
        second.ended_at, second.dial_status = now + 15, INTERRUPTED
        b.jobs.finish_attempt(second, JobStatus.NO_ANSWER, now + 15)
    assert not b.release(second.id, "b")  # taken over: the late outcome is not b's
    assert a.renew("b", [second.id], now + 40) == 0


# -- the dialer: several nodes --------------------------------------------------------------


def node_dialer(s: Store, clock: ManualClock, network: FakeNetwork, node: str, **kw) -> Dialer:
    kw.setdefault("lease_seconds", 30.0)
    return Dialer(
        CampaignManager(s.db, clock), network.place_call, node_id=node, number_check=bool, **kw
    )


async def test_two_dialers_share_a_campaign_its_pace_and_its_cap(
    manager, make_campaign, clock, node_stores
) -> None:
    campaign = make_campaign(calls_per_minute=30, max_simultaneous=4)
    network = FakeNetwork(clock)
    numbers = [str(50_000 + i) for i in range(40)]
    for n in numbers:
        network.set(n, Behaviour(talk=4.5))  # 6.5 s a call: 3 or 4 at a time at this pace
    ids = manager.add_phones(campaign, [{"phone": n} for n in numbers], None)
    # each node takes 2 at most, so the campaign's calls are spread over both
    dialers = [node_dialer(node_stores(), clock, network, n, max_calls=2) for n in ("a", "b")]
    for d in dialers:
        await d.start()
    try:
        await clock.advance(30 * 60)
    finally:
        for d in dialers:
            await d.stop(grace=0)
    assert sorted(network.numbers()) == numbers  # each once
    assert all(d.started.get(campaign.id) for d in dialers)  # both dialed
    starts = [d.at for d in network.dials]
    gaps = {round(y - x, 6) for x, y in zip(starts, starts[1:], strict=False)}
    assert gaps == {2.0}  # 30 a minute for the campaign, not 30 per node
    assert network.max_live <= 4
    assert {manager.jobs.get(i).status for i in ids} == {JobStatus.LONG_CALL_WITH_NO_RESULT}


async def test_a_dead_nodes_calls_are_resolved_by_the_other_after_its_lease(
    manager, make_campaign, clock, node_stores
) -> None:
    campaign = make_campaign(calls_per_minute=0, max_simultaneous=4)
    network = FakeNetwork(clock)
    for n in ("60001", "60002", "60003"):
        network.set(n, Behaviour(talk=3600), Behaviour(talk=5))
    ids = manager.add_phones(
        campaign, [{"phone": n, "maxAttempts": 2} for n in ("60001", "60002", "60003")], None
    )
    doomed = node_dialer(node_stores(), clock, network, "a", lease_seconds=20)
    await doomed.start()
    await clock.advance(1)
    assert len(network.dials) == 3
    survivor = node_dialer(node_stores(), clock, network, "b", lease_seconds=20)
    await survivor.start()
    try:
        await clock.advance(60)  # "a" keeps renewing: nothing is taken from it
        assert len(network.dials) == 3 and survivor.leases.holders(campaign.id) == {"a": 3}
        # "a" dies: its tasks vanish, its leases are no longer renewed
        doomed._stopping = True
        for task in [doomed._task, *doomed._calls]:
            task.cancel()
        await clock.advance(20 + 30 + 60 + 10)  # lease, b's poll, the retry time, the call
        attempts = manager.jobs.attempts(ids)
        assert [(a.number, a.dial_status) for a in attempts if a.number == 1] == [
            (1, INTERRUPTED)
        ] * 3
        # retried by "b" as attempt 2, each attempt dialed once
        assert Counter((d.number, d.attempt) for d in network.dials) == Counter(
            {(n, k): 1 for n in ("60001", "60002", "60003") for k in (1, 2)}
        )
        assert all(manager.jobs.get(i).status in FINAL_STATUSES for i in ids)
        assert survivor.leases.holders(campaign.id) == {}
    finally:
        await survivor.stop(grace=0)


async def test_a_late_outcome_of_a_taken_over_attempt_is_dropped(
    manager, make_campaign, clock, node_stores
) -> None:
    campaign = make_campaign(calls_per_minute=0, max_simultaneous=1)
    network = FakeNetwork(clock)
    network.set("70001", Behaviour(talk=100, result="late"), Behaviour(talk=5, result="again"))
    (job,) = manager.add_phones(campaign, [{"phone": "70001", "maxAttempts": 2}], None)
    stalled = node_dialer(node_stores(), clock, network, "a", lease_seconds=20)
    await stalled.start()
    await clock.advance(1)
    stalled.maintain_leases = lambda now: None  # its store connection "hangs": no renewals
    other = node_dialer(node_stores(), clock, network, "b", lease_seconds=20)
    await other.start()
    try:
        await clock.advance(300)
    finally:
        await other.stop(grace=0)
        await stalled.stop(grace=0)
    assert [(d.number, d.attempt) for d in network.dials] == [("70001", 1), ("70001", 2)]
    row = manager.jobs.get(job)
    attempts = manager.jobs.attempts([job])
    assert attempts[0].dial_status == INTERRUPTED  # b's resolution stands, a's is dropped
    assert row.status is JobStatus.LONG_CALL_WITH_RESULT and row.result == "again"


def test_a_claim_that_loses_the_slot_meanwhile_rolls_back(
    manager, make_campaign, clock, node_stores, store_url
) -> None:
    if store_url.startswith("sqlite"):
        pytest.skip("SQLite runs one claim at a time: no claim can pass another")
    campaign = make_campaign(calls_per_minute=60, max_simultaneous=10)
    ids = manager.add_phones(campaign, [{"phone": "80001"}, {"phone": "80002"}], None)
    a, b = leases_of(node_stores()), leases_of(node_stores())
    now = clock.now()
    passed: list[ClaimStatus] = []

    def screen_slowly(job) -> bool:
        # while "a" screens its job, "b" claims another and takes the campaign's slot
        if not passed:
            passed.append(claim(b, campaign, now, "b", interval=1.0).status)
        return True

    got = claim(a, campaign, now, "a", interval=1.0, screen=screen_slowly)
    assert passed == [ClaimStatus.CLAIMED]
    assert (got.status, got.wake_at) == (ClaimStatus.WAIT, now + 1.0)
    # nothing of a's claim was written: its job is still queued, without an attempt
    assert got.job is not None and manager.jobs.get(got.job.id).status is JobStatus.PLANNED
    assert len(manager.jobs.attempts(ids)) == 1
    assert a.holders(campaign.id) == {"b": 1} and a.live(campaign.id, now) == 1
