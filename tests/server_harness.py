"""Runs the whole process (switch, call service, HTTP API) in a background loop thread.

The same wiring as `softswitch serve` (softswitchd: its Runtime and ApiServer), with
uvicorn listening on a real port, so API tests go through HTTP like any client.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from softswitch.config import Config
from softswitchd.runtime import Runtime
from softswitchd.server import ApiServer, MetricsServer, start_server

from .switch_harness import SwitchHarness


class ServerHarness(SwitchHarness):
    def __init__(self, config: Config, **switch_kwargs: Any) -> None:
        super().__init__(config, **switch_kwargs)
        self.runtime: Runtime | None = None
        self._api: ApiServer | None = None
        self._api_task: asyncio.Task | None = None
        self._metrics: MetricsServer | None = None
        self._metrics_task: asyncio.Task | None = None

    @property
    def url(self) -> str:
        host, port = self.config.api_host_port
        return f"http://{host}:{port}"

    def start(self):  # type: ignore[override]
        self.thread.start()

        async def make() -> None:
            runtime = Runtime(self.config, announce=self.announced.append, **self._kwargs)
            await runtime.start()
            server = ApiServer(runtime)
            self._api_task = asyncio.create_task(server.serve())
            while not server.started:
                if self._api_task.done():
                    self._api_task.result()
                await asyncio.sleep(0.01)
            self._api = server
            self.runtime = runtime
            self.switch = runtime.switch
            if self.config.metrics.listen:  # as `softswitch serve` does
                self._metrics = MetricsServer(runtime)
                self._metrics_task = await start_server(self._metrics)

        self.run(make())
        return self.switch

    @property
    def calls(self) -> Any:
        assert self.runtime is not None
        return self.runtime.calls

    def stop(self) -> None:
        if self.loop.is_closed():
            return

        async def shutdown() -> None:
            if self._api is not None:
                self._api.should_exit = True
            if self._metrics is not None:
                self._metrics.should_exit = True
            if self.runtime is not None:
                await self.runtime.stop()
            for task in (self._api_task, self._metrics_task):
                if task is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(task, 5)

        try:
            self.run(shutdown(), timeout=40)
        finally:
            self.switch = None
            self.runtime = None
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            if not self.loop.is_running():
                self.loop.close()
