"""Benchmark: the dialer's next-job choice with 1,000,000 planned jobs, and its pacing.

1. Queue: 1,000,000 planned jobs (priorities 1-5, half with a custom policy, 90 % due in
   the coming week, 10 % due now) in a file-backed store; time `next_due` (the choice) and
   `next_due` + `claim` at random instants. A second campaign is the worst case for a
   single ORDER BY: 999,999 priority-1 custom-policy jobs not yet due and one due
   priority-5 job without a policy (the last of the ten index seeks).
2. Pacing, simulated: 10 minutes at 60 calls per minute on a manual clock, calls lasting
   20-120 s, cap 200 simultaneous: dial starts counted and compared with the grid.
3. Pacing, real time: `--seconds` (default 30) at `--rate` calls per minute on the system
   clock with calls lasting 1-5 s: achieved rate and start-time jitter.

    .venv/bin/python tools/bench/dialer.py [--jobs 1000000] [--seconds 30] [--rate 60]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from softswitch.campaigns.clock import ManualClock, SystemClock  # noqa: E402
from softswitch.campaigns.dialer import Dialer, DialRequest  # noqa: E402
from softswitch.campaigns.manager import CampaignManager  # noqa: E402
from softswitch.campaigns.model import (
    Campaign,
    CampaignStatus,
    new_campaign_id,  # noqa: E402
    new_token,
)
from softswitch.outcome import CallOutcome  # noqa: E402
from softswitch.store import Store  # noqa: E402
from softswitch.store.database import transaction  # noqa: E402
from softswitch.store.jobs import NewJob  # noqa: E402

NOW = 1_700_000_000.0


def fill(
    manager: CampaignManager, campaign_id: str, count: int, make: callable, chunk: int = 100_000
) -> None:
    for start in range(0, count, chunk):
        batch = [make(i) for i in range(start, min(count, start + chunk))]
        with transaction(manager.db):
            manager.jobs.add_many(batch)


def job(campaign_id: str, i: int, priority: int, next_at: float, custom: bool) -> NewJob:
    return NewJob(
        campaign_id=campaign_id,
        account_id="bench",
        phone=f"1212{i:07d}",
        payload={"n": i},
        dedup="",
        keyless=False,
        priority=priority,
        next_at=next_at,
        gmt_zone="",
        policy="{}",
        max_attempts=3,
        retry_interval=600.0,
        source="api",
        created_at=NOW,
        custom=custom,
    )


def campaign(manager: CampaignManager, **fields) -> Campaign:
    cid = new_campaign_id()
    return manager.create(
        Campaign(
            id=cid,
            account_id="bench",
            name=cid,
            token=new_token("bench", cid),
            status=CampaignStatus.IN_PROCESS,
            **fields,
        )
    )


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def queue_benchmark(jobs: int) -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "queue.db")
        manager = CampaignManager(store.db, ManualClock(NOW))
        mixed = campaign(manager)
        started = time.perf_counter()
        fill(
            manager,
            mixed.id,
            jobs,
            lambda i: job(
                mixed.id,
                i,
                rng.randint(1, 5),
                NOW - rng.uniform(0, 3600)
                if rng.random() < 0.1
                else NOW + rng.uniform(0, 7 * 86400),
                rng.random() < 0.5,
            ),
        )
        worst = campaign(manager)
        fill(
            manager,
            worst.id,
            jobs - 1,
            lambda i: job(worst.id, i, 1, NOW + 60 + rng.uniform(0, 7 * 86400), True),
        )
        fill(manager, worst.id, 1, lambda i: job(worst.id, jobs, 5, NOW - 1, False))
        print(
            f"queue: stored {2 * jobs:,} planned jobs in {time.perf_counter() - started:.1f} s "
            f"({Path(tmp, 'queue.db').stat().st_size / 1e6:.0f} MB)"
        )

        for name, target in (("mixed priorities", mixed), ("worst case", worst)):
            choice: list[float] = []
            for _ in range(2000):
                # the worst case's one due job is due from NOW - 1, its others from NOW + 60
                at = NOW + (rng.uniform(0, 50) if target is worst else rng.uniform(-600, 600))
                t0 = time.perf_counter()
                found = manager.jobs.next_due(target.id, at)
                choice.append(time.perf_counter() - t0)
                assert found is not None
            print(
                f"next-job choice, {name}, {jobs:,} planned jobs: median "
                f"{statistics.median(choice) * 1e3:.3f} ms, p99 {pct(choice, 0.99) * 1e3:.3f} ms,"
                f" max {max(choice) * 1e3:.3f} ms (target < 5 ms)"
            )

        claim: list[float] = []
        for i in range(2000):
            t0 = time.perf_counter()
            found = manager.jobs.next_due(mixed.id, NOW)
            attempt = manager.jobs.claim(found.id, NOW, f"{i:010x}")
            claim.append(time.perf_counter() - t0)
            assert attempt is not None
        print(
            f"next-job choice + claim (one transaction, attempt row): median "
            f"{statistics.median(claim) * 1e3:.3f} ms, p99 {pct(claim, 0.99) * 1e3:.3f} ms, "
            f"max {max(claim) * 1e3:.3f} ms"
        )
        plan = store.db.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM jobs WHERE campaign_id = ? AND queued = 1"
            " AND priority = ? AND custom = ? AND next_at <= ? ORDER BY next_at, id LIMIT 1",
            [mixed.id, 1, 1, NOW],
        ).fetchall()
        print("query plan:", "; ".join(row[-1] for row in plan))
        store.close()


async def pacing_simulated(rate: int, minutes: int) -> None:
    rng = random.Random(3)
    clock = ManualClock(NOW)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "pacing.db")
        manager = CampaignManager(store.db, clock)

        live, peak = 0, 0

        async def place_call(request: DialRequest) -> CallOutcome:
            nonlocal live, peak
            live += 1
            peak = max(peak, live)
            start = clock.now()
            try:
                await clock.sleep(rng.uniform(20, 120))
            finally:
                live -= 1
            return CallOutcome(True, 200, "ANSWER", start, clock.now(), answered_at=start + 3)

        dialer = Dialer(manager, place_call, number_check=lambda n: True)
        dialer.record_starts = True
        c = campaign(manager, calls_per_minute=rate, max_simultaneous=200)
        manager.add_phones(c, [{"phone": f"1{i:06d}"} for i in range(rate * minutes * 2)], None)
        await dialer.start()
        await clock.run_until(NOW + minutes * 60, step=1.0)
        await dialer.stop(grace=0)
        starts = [t for t, _, _ in dialer.dial_starts if t < NOW + minutes * 60]
        interval = 60.0 / rate
        drift = max(abs(t - (NOW + k * interval)) for k, t in enumerate(starts))
        print(
            f"pacing (simulated clock): {len(starts)} dial starts in {minutes} min at "
            f"{rate}/min (target {rate * minutes}, error "
            f"{abs(len(starts) - rate * minutes) / (rate * minutes) * 100:.2f} %); "
            f"max distance from the grid {drift * 1000:.1f} ms; peak simultaneous calls {peak}"
        )
        store.close()


async def pacing_real(rate: int, seconds: float) -> None:
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "real.db")
        manager = CampaignManager(store.db, SystemClock())

        async def place_call(request: DialRequest) -> CallOutcome:
            start = time.time()
            await asyncio.sleep(rng.uniform(1, 5))
            return CallOutcome(True, 200, "ANSWER", start, time.time(), answered_at=start)

        dialer = Dialer(manager, place_call, number_check=lambda n: True)
        dialer.record_starts = True
        c = campaign(manager, calls_per_minute=rate, max_simultaneous=100)
        manager.add_phones(
            c, [{"phone": f"1{i:06d}"} for i in range(int(rate * seconds / 60) + 50)], None
        )
        begin = time.time()
        await dialer.start()
        await asyncio.sleep(seconds)
        await dialer.stop(grace=0)
        starts = [t for t, _, _ in dialer.dial_starts if t < begin + seconds]
        interval = 60.0 / rate
        first = starts[0]
        jitter = [abs(t - (first + k * interval)) for k, t in enumerate(starts)]
        achieved = (len(starts) - 1) / (starts[-1] - first) * 60 if len(starts) > 1 else 0
        expected = sum(
            1 for k in range(10 * len(starts) + 10) if first + k * interval < begin + seconds
        )
        print(
            f"pacing (real time, {seconds:.0f} s at {rate}/min): {len(starts)} dial starts "
            f"(expected {expected}), achieved {achieved:.2f}/min "
            f"({abs(achieved - rate) / rate * 100:.2f} % off); start jitter vs grid: mean "
            f"{statistics.mean(jitter) * 1000:.1f} ms, max {max(jitter) * 1000:.1f} ms"
        )
        store.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=60)
    parser.add_argument("--minutes", type=int, default=10, help="simulated pacing run")
    parser.add_argument("--seconds", type=float, default=30, help="real-time pacing run")
    parser.add_argument("--skip-queue", action="store_true")
    args = parser.parse_args()
    if not args.skip_queue:
        queue_benchmark(args.jobs)
    await pacing_simulated(args.rate, args.minutes)
    await pacing_real(args.rate, args.seconds)


if __name__ == "__main__":
    asyncio.run(main())
