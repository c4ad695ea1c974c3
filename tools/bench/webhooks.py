"""Webhook delivery throughput: events recorded at a steady rate, delivered from the
outbox by one worker to a local receiver.

    .venv/bin/python tools/bench/webhooks.py [--rate 1000] [--seconds 10] [--accounts 1]

The switch side is the real thing (softswitch.webhooks.Webhooks on a SQLite store in
WAL mode: each event written to the outbox as the call service writes it, signed and
posted by the delivery worker, every attempt and status written back), on uvloop,
pinned to CPU 0. The receiver is uvicorn (uvloop + httptools) with a bare ASGI app
answering 204, in its own process pinned to CPU 1. Events are recorded by a paced
producer in the worker's own loop, as the switch would record them; an account's
events go out one at a time (its order), so --accounts 1 is the hardest case.

Figures: events delivered per second over the run (recorded until the end, delivered
until the backlog is empty), and the latency from an event's recording to its 2xx
(median, p99), read back from the store.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PIN = os.environ.get("BENCH_PIN", "1") != "0"  # BENCH_PIN=0: let the OS place both


def pin(cpu: int) -> None:
    if PIN and hasattr(os, "sched_setaffinity") and cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})


def receive(port: int, ready) -> None:  # type: ignore[no-untyped-def]
    pin(1)
    import uvicorn

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        loop="uvloop",
        http="httptools",
        access_log=False,
    )
    server = uvicorn.Server(config)

    async def run() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        ready.set()
        await task

    asyncio.run(run())


async def bench(port: int, rate: int, seconds: float, accounts: int, workdir: str) -> None:
    from softswitch.config import WebhooksConfig
    from softswitch.store import Store
    from softswitch.store.webhooks import DeliveryStatus
    from softswitch.webhooks.events import EventType
    from softswitch.webhooks.service import Webhooks

    store = Store(Path(workdir) / "bench.db")
    webhooks = Webhooks(store.db, WebhooksConfig(), ("127.0.0.1", 1))
    names = [f"account_{i}" for i in range(accounts)]
    for name in names:
        await webhooks.settings.set_url(name, f"http://127.0.0.1:{port}/hooks/{name}")
    await webhooks.start()
    total = int(rate * seconds)
    cdr = {"dial_status": "ANSWER", "billsec": 12.5, "agent_number": "101", "caller_id": "555"}
    started, cpu = time.monotonic(), time.process_time()
    for n in range(total):
        # on a grid of 1/rate s: a late tick does not push the later ones back
        delay = started + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        webhooks.events.emit(
            names[n % accounts], EventType.CALL_COMPLETED, f"{n:010x}", {"cdr": cdr}
        )
    recorded = time.monotonic() - started
    while webhooks.store.backlog():
        await asyncio.sleep(0.01)
    elapsed = time.monotonic() - started
    cpu = time.process_time() - cpu
    await webhooks.stop()
    rows = store.db.execute(
        "SELECT finished_at - created_at, attempts FROM webhook_events WHERE status = ?",
        [DeliveryStatus.DELIVERED],
    ).fetchall()
    latencies = sorted(r[0] for r in rows)
    retried = sum(1 for r in rows if r[1] > 1)
    store.close()
    print(f"events: {total} recorded in {recorded:.2f} s ({total / recorded:.0f}/s)")
    print(f"accounts: {accounts} (an account's events go one at a time)")
    print(f"delivered: {len(rows)} in {elapsed:.2f} s = {len(rows) / elapsed:.0f} events/s")
    print(f"retried: {retried}")
    print(f"switch CPU per event (record + sign + post + mark): {cpu / total * 1e6:.0f} us")
    print(
        f"latency record -> 2xx: median {statistics.median(latencies) * 1000:.1f} ms,"
        f" p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.1f} ms,"
        f" max {latencies[-1] * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=int, default=1000, help="events recorded per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--accounts", type=int, default=1)
    args = parser.parse_args()
    port = free_port()
    ready = multiprocessing.Event()
    receiver = multiprocessing.Process(target=receive, args=(port, ready), daemon=True)
    receiver.start()
    try:
        if not ready.wait(15):
            raise SystemExit("the receiver did not start")
        pin(0)
        import uvloop

        with tempfile.TemporaryDirectory() as workdir:
            uvloop.run(bench(port, args.rate, args.seconds, args.accounts, workdir))
    finally:
        receiver.terminate()
        receiver.join(5)


if __name__ == "__main__":
    main()
