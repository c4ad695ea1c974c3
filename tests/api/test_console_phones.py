"""The console's Phones and Trunks buttons: add and remove an extension of the account
(through the same service as the admin API), remove a trunk; CSRF as every action."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from softswitch.extension_admin import credentials
from tests.api.console_env import ConsoleEnv, console_env_at


@pytest.fixture
async def console_env(tmp_path, ports, rtp_ports) -> AsyncIterator[ConsoleEnv]:
    async with console_env_at(tmp_path, ports, rtp_ports) as env:
        yield env


async def test_a_phone_added_and_removed_from_the_console(console_env: ConsoleEnv) -> None:
    token = await console_env.login()
    store = console_env.switch.store
    refused = await console_env.act("/console/phones/add", None, number="104")
    assert refused.status_code == 403 and store.extension("104") is None  # no CSRF token
    added = await console_env.act("/console/phones/add", token, number="104", name="Lobby")
    assert added.status_code == 200, added.text
    message = added.json()["message"]
    password = message.split("password ")[1].split()[0]
    made = store.extension("104")
    assert (
        made is not None and made.ha1_md5 == credentials("104", password, "softswitch", "").ha1_md5
    )
    assert console_env.switch.extension_settings.get("104").account == "account_1"
    page = await console_env.client.get("/console/phones")
    assert 'data-extension="104"' in page.text and "Lobby" in page.text
    assert password not in page.text  # shown once, in the action's answer only

    taken = await console_env.act("/console/phones/add", token, number="101")
    assert taken.status_code == 409 and "number: extension 101 exists" in taken.json()["message"]
    bad = await console_env.act("/console/phones/add", token, number="1x")
    assert bad.status_code == 400 and bad.json()["message"].startswith("number: ")

    theirs = await console_env.act("/console/phones/103/remove", token)
    assert theirs.status_code == 404 and store.extension("103") is not None  # account_2's
    removed = await console_env.act("/console/phones/104/remove", token)
    assert removed.json() == {"ok": True, "message": "extension 104 removed"}
    assert store.extension("104") is None


async def test_a_trunk_removed_from_the_console(console_env: ConsoleEnv) -> None:
    token = await console_env.login()
    switch = console_env.switch
    nobodys = await console_env.act("/console/trunks/other/remove", token)
    assert nobodys.status_code == 404
    removed = await console_env.act("/console/trunks/carrier/remove", token)
    assert removed.status_code == 200, removed.text
    assert [t.name for t in switch.trunks] == ["other"]
    assert [t.name for t, _ in switch.trunk_admin.all()] == ["other"]
