"""Benchmark: POST addPhones with 10,000 numbers, each with a full call policy, in one request.

Runs the Calls API app in-process (httpx ASGI transport, so the figure is the server's
work: JSON parsing, validation, scheduling, the one-transaction insert, the response),
on a file-backed SQLite store in WAL mode like the server's.

    .venv/bin/python tools/bench/add_phones.py [--numbers 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx  # noqa: E402
from starlette.applications import Starlette  # noqa: E402

from api.calls import routes  # noqa: E402
from softswitch.campaigns.manager import CampaignManager  # noqa: E402
from softswitch.campaigns.model import Campaign, CampaignStatus, new_campaign_id, new_token  # noqa: E402
from softswitch.store import Store  # noqa: E402

ZONES = ["-05:00", "Europe/Berlin", "UTC+3", "America/New_York", "+0530", "Asia/Tokyo", None]


def body(count: int, run: int) -> list[dict]:
    items = []
    for i in range(count):
        item = {
            "phone": f"1212{run:02d}{i:05d}",
            "payload": {"name": f"customer {i}", "balance": i * 3, "promo": "20% off"},
            "startDateTime": "2024-03-04T00:00:00Z",
            "finishDateTime": "2030-03-11T00:00:00Z",
            "allowedDays": ["mon", "tue", "wed", "thu", "fri"],
            "allowedTime": {
                "mon": [
                    {"localTimeFrom": "10:00", "localTimeTo": "11:30"},
                    {"localTimeFrom": "13:00", "localTimeTo": "14:30"},
                ],
                "fri": [{"localTimeFrom": "20:00", "localTimeTo": "03:00"}],
                "default": [{"localTimeFrom": "09:00", "localTimeTo": "18:00"}],
            },
            "retryIntervalInMinutes": 120,
            "maxAttempts": 3,
            "dialerPriority": 1 + i % 5,
        }
        zone = ZONES[i % len(ZONES)]
        if zone:
            item["gmtZone"] = zone
        items.append(item)
    return items


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--numbers", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.db")
        manager = CampaignManager(store.db)
        app = Starlette(routes=routes(None, manager))
        timings: list[float] = []
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as client:
            for run in range(args.runs):
                cid = new_campaign_id()
                campaign = manager.create(
                    Campaign(
                        id=cid,
                        account_id="bench",
                        name=cid,
                        token=new_token("bench", cid),
                        status=CampaignStatus.IN_PROCESS,
                    )
                )
                payload = json.dumps(body(args.numbers, run)).encode()
                started = time.perf_counter()
                response = await client.post(
                    f"/api/calls/campaign/{campaign.token}/addPhones",
                    content=payload,
                    headers={"Content-Type": "application/json", "Idempotence-Key": f"bench-{run}"},
                )
                elapsed = time.perf_counter() - started
                assert response.status_code == 200, response.text[:300]
                assert len(response.json()) == args.numbers
                timings.append(elapsed)
                print(
                    f"run {run + 1}: {args.numbers} numbers ({len(payload) / 1e6:.1f} MB body)"
                    f" accepted in {elapsed * 1000:.0f} ms"
                )
            # the same key again: answered from the idempotence record, nothing created
            started = time.perf_counter()
            again = await client.post(
                f"/api/calls/campaign/{campaign.token}/addPhones",
                content=payload,
                headers={
                    "Content-Type": "application/json",
                    "Idempotence-Key": f"bench-{args.runs - 1}",
                },
            )
            replay = time.perf_counter() - started
            assert again.json() == response.json()
        total = store.db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
        store.close()
    print(
        f"addPhones {args.numbers} numbers with policies: median "
        f"{statistics.median(timings) * 1000:.0f} ms, best {min(timings) * 1000:.0f} ms, "
        f"worst {max(timings) * 1000:.0f} ms (target < 1000 ms); {total} jobs stored"
    )
    print(f"idempotent replay of the last request: {replay * 1000:.0f} ms")


if __name__ == "__main__":
    asyncio.run(main())
