"""A console under test: a started switch (no peers), the call service, the console's and
the CPaaS API's routes in one Starlette app driven in-process through httpx, and the
session table on a clock the test moves by hand.

Extension 101 and a voicemail box on 102 belong to account_1, and so does the trunk
"carrier" (an IP-auth trunk to a port nobody answers on: no call is placed).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from starlette.applications import Starlette

import api.console
import api.cpaas
from api.console.sessions import Sessions
from api.context import AppContext
from media.tts import Tts
from softswitch.accounts import provision_accounts
from softswitch.calls import CallService
from softswitch.store.accounts import AccountStore
from softswitch.store.cdrs import CdrStore
from softswitch.switch import Switch
from tests.peers.ports import PortPicker
from tests.switch_harness import switch_config

BASE = "http://console.test"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


class HandClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class ConsoleEnv:
    switch: Switch
    ctx: AppContext
    client: httpx.AsyncClient
    clock: HandClock
    sessions: Sessions
    cdrs: CdrStore

    async def login_form(self) -> str:
        """GET / and the login form's token."""
        page = await self.client.get("/")
        assert page.status_code == 200, page.text
        found = _TOKEN.search(page.text)
        assert found is not None
        return found.group(1)

    async def login(self, account: str = "account_1", auth: str = "secret-one") -> str:
        """Log in; returns the session's CSRF token (from the page it lands on)."""
        token = await self.login_form()
        response = await self.client.post(
            "/console/login", data={"account": account, "auth": auth, "csrf_token": token}
        )
        assert response.status_code == 303, response.text
        assert response.headers["location"] == "/console/live"
        return await self.csrf_of("/console/live")

    async def csrf_of(self, path: str) -> str:
        page = await self.client.get(path)
        assert page.status_code == 200, page.text
        found = _META.search(page.text)
        assert found is not None and found.group(1)
        return found.group(1)

    async def act(self, path: str, token: str | None, **fields: str) -> httpx.Response:
        """A console action as console.js posts it."""
        headers = {"Accept": "application/json", "Origin": BASE}
        if token is not None:
            headers["X-CSRF-Token"] = token
        return await self.client.post(path, data=fields, headers=headers)


@contextlib.asynccontextmanager
async def console_env_at(
    tmp_path: Path, ports: PortPicker, rtp_ports: PortPicker
) -> AsyncIterator[ConsoleEnv]:
    """The env for a test module's fixture: ``async with console_env_at(...) as env``."""
    rtp_first = rtp_ports.block(100)
    config = switch_config(
        tmp_path,
        ports.port(),
        rtp_first,
        extensions={"101": "pw101", "102": "pw102", "103": "pw103"},
        extension_options={
            "101": {"account": "account_1", "name": "Front desk"},
            "102": {"voicemail": True, "account": "account_1"},
            "103": {"voicemail": True, "account": "account_2"},
        },
        trunks=[
            {
                "name": "carrier",
                "host": "127.0.0.1:9",
                "register": False,
                "prefixes": ["555"],
                "account": "account_1",
            },
            {"name": "other", "host": "127.0.0.1:9", "register": False, "prefixes": ["666"]},
        ],
        accounts={"account_1": "secret-one", "account_2": "secret-two"},
    )
    switch = Switch(config, announce=lambda line: None)
    await switch.start()
    provision_accounts(AccountStore(switch.store.db), config.accounts, lambda line: None)
    cdrs = CdrStore(switch.store.db)
    tts = Tts(Path(config.media.prompts_dir), engine="flite", allow_online=False)
    calls = CallService(
        switch,
        tts,
        cdrs,
        recordings_dir=config.media.recordings_dir,
        uploads_dir=config.media.uploads_dir,
    )
    ctx = AppContext(switch=switch, calls=calls, tts=tts)
    clock = HandClock()
    sessions = Sessions(clock=clock)
    app = Starlette(routes=api.console.routes(ctx, sessions) + api.cpaas.routes(ctx))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        yield ConsoleEnv(switch, ctx, client, clock, sessions, cdrs)
    await calls.stop(grace=0.5)
    await switch.stop()
    switch.store.close()
    rtp_ports.release(rtp_first, 100)
