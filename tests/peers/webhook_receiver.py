"""A real HTTP receiver of webhooks: uvicorn on 127.0.0.1 serving a tiny Starlette app
that records every POST (path, headers, body, when) and answers as each path is told:
``ok`` (204), ``fail`` (500), ``hang`` (never answers) or ``redirect`` (307 to ``/ok``).

It runs in its own thread and loop, can be stopped and started again on the same port
(a receiver that is down for a while), and is stopped by the fixture whatever the test
did.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .process import wait_until


@dataclass(frozen=True, slots=True)
class Arrival:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # not the main thread: no signals here
        yield


class WebhookReceiver:
    def __init__(self, port: int) -> None:
        self.port = port
        self.arrivals: list[Arrival] = []
        self.modes: dict[str, str] = {}  # path -> ok | fail | hang; default ok
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._release: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        with self._lock:
            self.arrivals.append(
                Arrival(request.url.path, dict(request.headers), body, time.time())
            )
        mode = self.modes.get(request.url.path, "ok")
        if mode == "fail":
            return Response("receiver broken", status_code=500)
        if mode == "redirect":
            return Response(status_code=307, headers={"Location": "/ok"})
        if mode == "hang":
            assert self._release is not None
            await self._release.wait()  # until the receiver stops
        return Response(status_code=204)

    def start(self) -> WebhookReceiver:
        app = Starlette(routes=[Route("/{path:path}", self._receive, methods=["POST"])])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, lifespan="off"
        )
        server = _Server(config)
        self._server = server

        def run() -> None:
            async def serve() -> None:
                self._release = asyncio.Event()
                self._loop = asyncio.get_running_loop()
                await server.serve()

            asyncio.run(serve())

        self._thread = threading.Thread(target=run, name="webhook-receiver", daemon=True)
        self._thread.start()
        wait_until(lambda: server.started, 10, what="webhook receiver up")
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        if self._loop is not None and self._release is not None:
            with contextlib.suppress(RuntimeError):  # its loop has ended already
                self._loop.call_soon_threadsafe(self._release.set)
        server.should_exit = True
        server.force_exit = True  # a hanging request must not hold the stop
        thread.join(10)
        self._server = self._thread = None

    def received(self, path: str | None = None) -> list[Arrival]:
        with self._lock:
            return [a for a in self.arrivals if path is None or a.path == path]

    def events(self, path: str | None = None) -> list[dict[str, Any]]:
        return [a.event for a in self.received(path)]

    def wait_for(self, predicate, timeout: float = 20.0, what: str = "webhooks") -> Any:
        return wait_until(lambda: predicate(self), timeout, what=what)
