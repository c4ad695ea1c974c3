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
from api.metrics import metrics_app
from softswitch.config import Config, split_host_port

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


class MetricsServer(ApiServer):
    """`[metrics] listen`: /metrics alone, on an address of its own, with the same
    connection limits as the API."""

    def __init__(self, runtime: Runtime) -> None:
        assert runtime.metrics is not None
        config = runtime.config
        host, port = split_host_port(config.metrics.listen, 0)
        limits = config.api_limits
        uvicorn.Server.__init__(
            self,
            uvicorn.Config(
                metrics_app(runtime.metrics, config.metrics),
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
                proxy_headers=False,
            ),
        )


async def start_server(server: uvicorn.Server) -> asyncio.Task[None]:
    """Serve in a task; returns once it listens (raises what stopped it before)."""
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise OSError("the HTTP server stopped at start-up")
        await asyncio.sleep(0.01)
    return task


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
    servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = [(api, api_task)]
    if config.metrics.listen:
        metrics = MetricsServer(runtime)
        servers.append((metrics, asyncio.create_task(metrics.serve())))
        log.info("metrics listening on http://%s/metrics", config.metrics.listen)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    host, port = config.api_host_port
    log.info("api listening on http://%s:%d", host, port)
    # a listener that stops (its port taken) stops the process, like the API's
    await asyncio.wait(
        [*(task for _, task in servers), asyncio.create_task(stop.wait())],
        return_when=asyncio.FIRST_COMPLETED,
    )
    drain = config.cluster.drain_timeout if config.cluster.enabled else 0
    if drain and stop.is_set():
        # a node leaving its cluster: no new calls, the live ones may finish; a second
        # signal cuts it short
        stop.clear()
        drained = asyncio.create_task(runtime.switch.drain(drain))
        await asyncio.wait(
            [drained, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED
        )
        drained.cancel()
    log.info("shutting down")
    for server, _ in servers:
        server.should_exit = True
    await runtime.stop()
    for _, task in servers:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5)
    log.info("stopped")
