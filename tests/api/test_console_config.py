"""[console] in the config: its keys, their wrong values, and what they change."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

import api.console
from softswitch.config import ConfigError, from_dict
from tests.api.console_env import BASE, console_env_at


def test_defaults_and_wrong_values():
    config = from_dict({})
    assert config.console.enabled is True
    assert (config.console.session_idle_minutes, config.console.session_hours) == (30, 12)
    for section, message in (
        ({"session_idle_minutes": 0}, "console.session_idle_minutes must be 1 to 1440"),
        ({"session_idle_minutes": 1441}, "console.session_idle_minutes must be 1 to 1440"),
        ({"session_hours": 169}, "console.session_hours must be 1 to 168"),
        ({"session_hours": "12h"}, "console.session_hours"),
        ({"enabled": "maybe"}, "console.enabled"),
        ({"lifetime": 3}, "unknown key"),
    ):
        with pytest.raises(ConfigError, match=message):
            from_dict({"console": section})
    off = from_dict({}, {"SOFTSWITCH_CONSOLE_ENABLED": "false"})
    assert off.console.enabled is False


async def test_the_console_follows_its_config(tmp_path, ports, rtp_ports):
    async with console_env_at(tmp_path, ports, rtp_ports) as env:
        console = env.ctx.config.console
        console.session_hours = 2
        app = Starlette(routes=api.console.routes(env.ctx))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=BASE
        ) as client:
            page = await client.get("/")
            token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
            login = await client.post(
                "/console/login",
                data={"account": "account_1", "auth": "secret-one", "csrf_token": token},
            )
            assert login.status_code == 303
            assert "max-age=7200" in login.headers["set-cookie"].lower()
        # pages for people: left out of any schema generated from the app's routes
        assert not [r for r in app.routes if getattr(r, "include_in_schema", False)]
        console.enabled = False
        assert api.console.routes(env.ctx) == []  # / answers 404 as before the console
