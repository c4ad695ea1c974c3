"""A dialer process for the crash test: dials from the given store until killed.

Every dial is logged (flushed and fsynced) before the "call" starts, so the parent can
tell which attempts were really placed even when it kills this process mid-call.

    python crash_child.py DB LOG SEED
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from softswitch.campaigns.dialer import Dialer, DialRequest  # noqa: E402
from softswitch.campaigns.manager import CampaignManager  # noqa: E402
from softswitch.outcome import CallOutcome  # noqa: E402
from softswitch.store import Store  # noqa: E402


async def main(db: str, log: str, seed: int) -> None:
    rng = random.Random(seed)
    store = Store(db)
    store.db.conn.execute("PRAGMA busy_timeout = 5000")
    manager = CampaignManager(store.db)

    async def place_call(request: DialRequest) -> CallOutcome:
        # on disk before the call starts: the parent kills this process at any moment
        with open(log, "a") as out:
            out.write(f"{request.job.id} {request.attempt.number} {request.request_id}\n")
            out.flush()
            os.fsync(out.fileno())
        start = time.time()
        await asyncio.sleep(rng.uniform(0.02, 0.25))
        if rng.random() < 0.5:
            return CallOutcome(False, 486, "BUSY", start, time.time())
        return CallOutcome(
            True,
            200,
            "ANSWER",
            start,
            time.time(),
            answered_at=start,
            result="ok" if rng.random() < 0.5 else None,
        )

    dialer = Dialer(manager, place_call, number_check=lambda n: True, poll_interval=0.2)
    await dialer.start()
    print("ready", flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
