"""CPaaS API throughput: GET /api/get_live_call_statistics on one server core.

    .venv/bin/python tools/bench/api.py [--seconds 10] [--connections 32]

The server is the real stack (a started switch, the call service, the CPaaS routes with
account authentication) under uvicorn with uvloop + httptools and the server's
header deadline and connection caps (softswitchd.http_guard), in its own process
pinned to CPU 0. The load comes from another process pinned to CPU 1: a minimal
keep-alive HTTP/1.1 client on raw asyncio streams (httpx would be the bottleneck).
Every response is checked for status 200 and the success envelope.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

ACCOUNT, SECRET = "account_1", "bench-secret"
PATH = "/api/get_live_call_statistics"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and cpu < os.cpu_count():  # type: ignore[operator]
        os.sched_setaffinity(0, {cpu})


def serve(api_port: int, sip_port: int, workdir: str, ready) -> None:
    pin(0)
    import uvicorn
    import uvloop
    from starlette.applications import Starlette

    import api.cpaas
    from api.context import AppContext
    from media.tts import Tts
    from softswitch.accounts import provision_accounts
    from softswitch.calls import CallService
    from softswitch.config import from_dict
    from softswitch.store.accounts import AccountStore
    from softswitch.switch import Switch
    from softswitchd.http_guard import HttpLimits, guarded_protocol

    config = from_dict(
        {
            "sip": {"listen": f"127.0.0.1:{sip_port}"},
            "rtp": {"address": "127.0.0.1", "ports": "28000-28099"},
            "store": {"path": f"{workdir}/bench.db"},
            "media": {
                "recordings_dir": f"{workdir}/rec",
                "uploads_dir": f"{workdir}/up",
                "prompts_dir": f"{workdir}/prompts",
            },
            "accounts": [{"id": ACCOUNT, "auth": SECRET}],
        },
        {},
    )

    async def main() -> None:
        switch = Switch(config, announce=lambda line: None)
        await switch.start()
        provision_accounts(AccountStore(switch.store.db), config.accounts, lambda line: None)
        tts = Tts(Path(config.media.prompts_dir), allow_online=False)
        calls = CallService.configured(switch, tts)
        app = Starlette(routes=api.cpaas.routes(AppContext(switch=switch, calls=calls, tts=tts)))
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=api_port,
                http=guarded_protocol(HttpLimits()),
                loop="none",
                lifespan="off",
                access_log=False,
                log_level="warning",
            )
        )
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        ready.set()
        await task

    uvloop.run(main())


REQUEST = (
    f"GET {PATH} HTTP/1.1\r\nHost: bench\r\naccount: {ACCOUNT}\r\nauth: {SECRET}\r\n\r\n"
).encode()


async def connection(port: int, deadline: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    done = 0
    while time.perf_counter() < deadline:
        writer.write(REQUEST)
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(head.decode(errors="replace"))
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        body = await reader.readexactly(length)
        if b'"success":"true"' not in body:
            raise RuntimeError(body.decode(errors="replace"))
        done += 1
    counts.append(done)
    writer.close()


def load(port: int, seconds: float, connections: int, result) -> None:
    pin(1)
    import uvloop

    async def main() -> None:
        # warm-up: the first request per account pays the scrypt check
        await asyncio.gather(
            *(connection(port, time.perf_counter() + 0.5, []) for _ in range(connections))
        )
        counts: list[int] = []
        start = time.perf_counter()
        await asyncio.gather(
            *(connection(port, start + seconds, counts) for _ in range(connections))
        )
        result.put((sum(counts), time.perf_counter() - start))

    uvloop.run(main())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        ctx = multiprocessing.get_context("spawn")
        api_port = free_port()
        ready, result = ctx.Event(), ctx.Queue()
        server = ctx.Process(
            target=serve, args=(api_port, free_port(), workdir, ready), daemon=True
        )
        server.start()
        if not ready.wait(60):
            raise SystemExit("server did not start")
        client = ctx.Process(target=load, args=(api_port, args.seconds, args.connections, result))
        client.start()
        total, elapsed = result.get(timeout=args.seconds + 60)
        client.join()
        server.terminate()
        server.join()
    print(
        f"GET {PATH}: {total:,} requests in {elapsed:.1f} s over {args.connections} "
        f"keep-alive connections = {total / elapsed:,.0f} req/s "
        f"(server: one process pinned to CPU 0, uvicorn+uvloop+httptools; auth checked on each)"
    )


if __name__ == "__main__":
    main()
