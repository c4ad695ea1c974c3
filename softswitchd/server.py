"""Runs the switch and its HTTP API together in one event loop until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Iterator

import uvicorn

from api.app import create_app
from softswitch.config import Config

from .http_guard import HttpLimits, guarded_protocol
from .limits import raise_open_file_limit
from .runtime import Runtime

log = logging.getLogger("softswitchd.server")


class ApiServer(uvicorn.Server):
    """uvicorn serving the runtime's HTTP API on the config's `[api] listen`, with the
    timeouts and connection caps of `[api_limits]` (softswitchd/http_guard.py)."""

    def __init__(self, runtime: Runtime) -> None:
        host, port = runtime.config.api_host_port
        limits = runtime.config.api_limits
        super().__init__(
            uvicorn.Config(
                create_app(runtime.api_context()),
                host=host,
                port=port,
                log_config=None,
                lifespan="off",
                http=guarded_protocol(
                    HttpLimits(
                        header_timeout=limits.header_timeout,
                        max_connections=limits.max_connections,
                        max_per_source=limits.max_connections_per_source,
                    )
                ),
                timeout_keep_alive=limits.keep_alive_timeout,
                # the client's address is the socket's peer: a header naming another
                # would let anyone on loopback dodge the login throttle's bans
                proxy_headers=False,
            )
        )

    # The switch owns SIGTERM/SIGINT: it must hang up calls before the process ends.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(config: Config) -> None:
    raise_open_file_limit()
    runtime = Runtime(config)
    await runtime.start()
    # A full collection over every live object stalls the media clock (55-70 ms with
    # 400 bridged calls, measured by tools/bench/bridged_calls.py): what exists after
    # start-up lives for the whole process, so keep it out of every collection, and
    # collect the old generation less often.
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 50, 100)
    api = ApiServer(runtime)
    api_task = asyncio.create_task(api.serve())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    host, port = config.api_host_port
    log.info("api listening on http://%s:%d", host, port)
    await asyncio.wait(
        [api_task, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED
    )
    log.info("shutting down")
    api.should_exit = True
    await runtime.stop()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(api_task, 5)
    log.info("stopped")
