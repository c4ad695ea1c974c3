"""A cluster node's own endpoints, through the real app on a started switch: the admin
API's drain switch and the signed node-to-node live-call command."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.context import AppContext
from media.tts import Tts
from softswitch.admin_tokens import create_admin_token
from softswitch.calls import CallService
from softswitch.cluster.forwarding import HEADER, PATH, sign
from softswitch.store.admin_tokens import AdminTokenStore
from softswitch.switch import Switch
from tests.switch_harness import switch_config

SECRET = "a-cluster-secret-of-the-test"


@dataclass
class Node:
    switch: Switch
    client: httpx.AsyncClient
    admin: dict[str, str]


@pytest.fixture
async def node(tmp_path: Path, ports) -> AsyncIterator[Node]:
    config = switch_config(tmp_path, ports.port(), 29800, accounts={"account_1": "secret-one"})
    config.cluster.front_doors = ["127.0.0.1"]
    config.cluster.secret = SECRET
    config.cluster.node_id = "node-x"
    switch = Switch(config, announce=lambda line: None)
    await switch.start()
    tts = Tts(Path(config.media.prompts_dir), engine="flite", allow_online=False)
    calls = CallService.configured(switch, tts)
    made = create_admin_token(AdminTokenStore(switch.store.db))
    app = create_app(AppContext(switch=switch, calls=calls, tts=tts))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://node.test"
    ) as client:
        yield Node(switch, client, {"Authorization": f"Bearer {made.token}"})
    await calls.stop(grace=0.5)
    await switch.stop()
    switch.store.close()


async def test_drain_and_back(node):
    assert (await node.client.post("/api/admin/drain")).status_code == 401
    reply = await node.client.post("/api/admin/drain", headers=node.admin)
    assert reply.json() == {"node_id": "node-x", "draining": True, "live_channels": 0}
    assert node.switch.ua.draining
    shown = await node.client.get("/api/admin/drain", headers=node.admin)
    assert shown.json()["draining"] is True
    back = await node.client.delete("/api/admin/drain", headers=node.admin)
    assert back.json()["draining"] is False and not node.switch.ua.draining


async def test_a_forwarded_command_must_be_signed_and_well_formed(node):
    body = json.dumps(
        {"account_id": "account_1", "channel": "SIP/101-1", "action": 2, "number": None}
    ).encode()
    unsigned = await node.client.post(PATH, content=body)
    assert unsigned.status_code == 401
    forged = await node.client.post(PATH, content=body, headers={HEADER: sign("x" * 20, body)})
    assert forged.status_code == 401
    signed = await node.client.post(PATH, content=body, headers={HEADER: sign(SECRET, body)})
    assert signed.status_code == 200
    assert signed.json() == {
        "ok": False,
        "message": "channel 'SIP/101-1' not found",
        "error": "not_found",
        "channel": "SIP/101-1",
    }
    for bad in (b"[]", b"{", b'{"account_id": "a", "channel": "c", "action": 9}'):
        reply = await node.client.post(PATH, content=bad, headers={HEADER: sign(SECRET, bad)})
        assert reply.status_code == 400, bad


async def test_the_cluster_endpoints_are_absent_outside_a_cluster(tmp_path, ports):
    config = switch_config(tmp_path, ports.port(), 29900)
    switch = Switch(config, announce=lambda line: None)
    tts = Tts(Path(config.media.prompts_dir), engine="flite", allow_online=False)
    app = create_app(AppContext(switch=switch, calls=CallService.configured(switch, tts), tts=tts))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://node.test"
    ) as client:
        assert (await client.post(PATH, content=b"{}")).status_code in (404, 405)
        assert (await client.get("/api/admin/drain")).status_code == 404
    switch.store.close()
