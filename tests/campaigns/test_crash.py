"""Kill the dialer's process (SIGKILL) at random moments, restart it, and check that no
job is lost and no attempt is dialed twice."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from softswitch.campaigns.clock import SystemClock
from softswitch.campaigns.dialer import INTERRUPTED, Dialer
from softswitch.campaigns.manager import CampaignManager
from softswitch.campaigns.model import (
    FINAL_STATUSES,
    Campaign,
    CampaignStatus,
    JobStatus,
    new_campaign_id,
    new_token,
)
from softswitch.outcome import CallOutcome
from softswitch.store import Store

CHILD = Path(__file__).with_name("crash_child.py")
JOBS = 40


def start_child(db: Path, log: Path, seed: int) -> subprocess.Popen:
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(db), str(log), str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
    return child


async def test_sigkill_mid_call_loses_nothing_and_dials_no_attempt_twice(tmp_path) -> None:
    db, log = tmp_path / "crash.db", tmp_path / "dials.log"
    store = Store(db)
    manager = CampaignManager(store.db, SystemClock())
    cid = new_campaign_id()
    campaign = manager.create(
        Campaign(
            id=cid,
            account_id="acc",
            name="crash",
            token=new_token("acc", cid),
            status=CampaignStatus.IN_PROCESS,
            calls_per_minute=600,
            max_simultaneous=4,
            max_retries=2,
            retry_time=0.05,
            retry_on=("BUSY",),
        )
    )
    ids = manager.add_phones(campaign, [{"phone": str(5000 + i)} for i in range(JOBS)], None)
    log.touch()
    rng = random.Random(11)
    for cycle in range(4):
        child = start_child(db, log, cycle)
        await asyncio.sleep(rng.uniform(0.3, 0.9))
        child.send_signal(signal.SIGKILL)
        child.wait()

    # the last restart happens here, in-process, and runs the campaign to its end
    async def place_call(request):
        with open(log, "a") as out:
            out.write(f"{request.job.id} {request.attempt.number} {request.request_id}\n")
        return CallOutcome(True, 200, "ANSWER", 0.0, 1.0, answered_at=0.5)

    dialer = Dialer(
        CampaignManager(store.db, SystemClock()), place_call, number_check=lambda n: True
    )
    await dialer.start()
    for _ in range(500):
        if all(manager.jobs.get(i).status in FINAL_STATUSES for i in ids):
            break
        await asyncio.sleep(0.02)
    await dialer.stop()

    dials = [tuple(line.split()) for line in log.read_text().splitlines()]
    assert dials, "the children dialed nothing"
    per_attempt = Counter((int(job), int(number)) for job, number, _ in dials)
    assert max(per_attempt.values()) == 1, "an attempt was dialed twice"
    attempts = manager.jobs.attempts(ids)
    by_request = {a.request_id: a for a in attempts}
    for job, number, request_id in dials:
        recorded = by_request[request_id]  # every real dial has its attempt row
        assert (recorded.job_id, recorded.number) == (int(job), int(number))
    jobs = [manager.jobs.get(i) for i in ids]
    assert len(jobs) == JOBS and all(j.status in FINAL_STATUSES for j in jobs)
    for j in jobs:
        rows = [a for a in attempts if a.job_id == j.id]
        assert len(rows) == j.attempts_made <= j.max_attempts
        assert all(a.ended_at is not None for a in rows)
    # the kills did land mid-call at least once
    assert any(a.dial_status == INTERRUPTED for a in attempts)
    assert {j.status for j in jobs} <= {
        JobStatus.LONG_CALL_WITH_RESULT,
        JobStatus.LONG_CALL_WITH_NO_RESULT,
        JobStatus.NO_ANSWER,
    }
    store.close()
