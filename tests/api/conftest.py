"""An API under test: a started switch (SIP on a free port, no peers), the call service,
and the CPaaS routes in a Starlette app driven in-process through httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

import api.cpaas
from api.context import AppContext
from media.tts import Tts
from softswitch.accounts import provision_accounts
from softswitch.calls import CallService
from softswitch.config import Config
from softswitch.store.accounts import AccountStore
from softswitch.store.cdrs import CdrStore
from softswitch.switch import Switch
from tests.switch_harness import switch_config

ACCOUNT_1 = {"account": "account_1", "auth": "secret-one"}
ACCOUNT_2 = {"account": "account_2", "auth": "secret-two"}


@dataclass
class ApiEnv:
    config: Config
    switch: Switch
    ctx: AppContext
    client: httpx.AsyncClient
    cdrs: CdrStore

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> tuple[int, dict]:
        headers = ACCOUNT_1 if headers is None else headers
        if body is not None and not isinstance(body, (str, bytes)):
            kwargs["json"] = body
        elif body is not None:
            kwargs["content"] = body.encode() if isinstance(body, str) else body
        response = await self.client.request(method, path, headers=headers, **kwargs)
        return response.status_code, response.json()


@pytest.fixture
def api_store() -> str:
    """The store url of `api_env`: "" = the SQLite file switch_config names. A module
    whose tests should run on both engines overrides it with `on_both_engines`:
    ``api_store = on_both_engines`` after importing it from here."""
    return ""


@pytest.fixture(params=["sqlite", "postgresql"])
def on_both_engines(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return ""
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def api_env(tmp_path: Path, ports, api_store: str) -> AsyncIterator[ApiEnv]:
    config = switch_config(
        tmp_path,
        ports.port(),
        29800,
        extensions={"101": "pw101", "102": "pw102"},
        # a carrier nobody answers for: numbers route, no call is placed by these tests
        trunks=[
            {"name": "carrier", "host": "127.0.0.1:9", "register": False, "prefixes": [""]},
            {"name": "short", "host": "127.0.0.1:9", "register": False, "prefixes": ["555"]},
        ],
        accounts={"account_1": "secret-one", "account_2": "secret-two"},
    )
    config.store.url = api_store
    switch = Switch(config, announce=lambda line: None)
    await switch.start()
    provision_accounts(AccountStore(switch.store.db), config.accounts, lambda line: None)
    cdrs = CdrStore(switch.store.db)
    tts = Tts(Path(config.media.prompts_dir), engine="flite", allow_online=False)
    calls = CallService.configured(switch, tts, cdrs)
    ctx = AppContext(switch=switch, calls=calls, tts=tts)
    app = Starlette(routes=api.cpaas.routes(ctx))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://cpaas.test"
    ) as client:
        yield ApiEnv(config, switch, ctx, client, cdrs)
    await calls.stop(grace=0.5)
    await switch.stop()
    switch.store.close()


@pytest.fixture
def make_cdr() -> Callable[..., Any]:
    from softswitch.store.cdrs import Cdr

    def make(**fields: Any) -> Cdr:
        values: dict[str, Any] = dict(
            account_id="account_1",
            request_id="0123456789",
            call_direction="outbound-api",
            destination_context="click2call",
            caller_id="15168148111",
            agent_number="101",
            customer_number="919979271234",
            dialed_number="919979271234",
            call_date=1688710079.0,
            answer=1688710081.0,
            end=1688710096.0,
            call_duration=17.0311,
            billsec=7.26955,
            call_status="ANSWERED",
            dial_status="ANSWER",
            uniqueid="1688710079.868",
        )
        values.update(fields)
        return Cdr(**values)

    return make
