"""The admin API's live views and CDR window through the real app (create_app on a
started Runtime): /api/admin/status, /api/admin/calls, /api/admin/cdrs."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from api.admin.models import AdminCdrs, Status
from api.app import create_app
from softswitch.admin_tokens import create_admin_token
from softswitch.store import Binding
from softswitch.store.admin_tokens import AdminTokenStore
from softswitch.store.cdrs import Cdr, CdrStore
from softswitchd.runtime import Runtime
from tests.switch_harness import switch_config


@pytest.fixture
async def env(tmp_path: Path, ports):
    config = switch_config(
        tmp_path,
        ports.port(),
        29600,
        trunks=[{"name": "carrier", "host": "127.0.0.1:9", "register": False}],
        accounts={"account_1": "secret-one"},
    )
    runtime = Runtime(config, announce=lambda line: None)
    await runtime.start()
    token = create_admin_token(AdminTokenStore(runtime.store.db)).token
    app = create_app(runtime.api_context())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield runtime, client
    await runtime.stop()


def cdr(account: str, request: str, at: float) -> Cdr:
    return Cdr(account, request, "inbound", "local_call", "1", "101", "2", "2", at,
               None, None, None, None, "NO ANSWER", "NOANSWER")  # fmt: skip


async def test_admin_views_need_the_token(env) -> None:
    _, client = env
    for path in ("/api/admin/status", "/api/admin/calls", "/api/admin/cdrs"):
        response = await client.get(path, headers={"Authorization": "Bearer wrong"})
        assert response.status_code == 401, path


async def test_status_and_calls(env) -> None:
    runtime, client = env
    now = time.time()
    runtime.store.put_binding(
        Binding("101", "sip:101@127.0.0.1:5062", now + 120, "c", 1, "udp", "127.0.0.1", 5062, "ua")
    )
    body = (await client.get("/api/admin/status")).json()
    Status.model_validate(body)  # what /openapi.json says it is
    assert body["status"] == "ok"
    assert body["trunks"] == [
        {
            "name": "carrier",
            "state": "ip-auth",
            "carrier": body["trunks"][0]["carrier"],
            "last_error": None,
            "host": "127.0.0.1:9",
        }
    ]
    [phone] = body["phones"]
    assert phone["number"] == "101" and phone["address"] == "127.0.0.1:5062"
    assert phone["transport"] == "udp" and phone["user_agent"] == "ua"
    assert 0 < phone["expires_in"] <= 120
    assert body["calls"] == {
        "channels": 0,
        "bridged": 0,
        "legs": {"inbound": 0, "outbound": 0},
    }
    assert (await client.get("/api/admin/calls")).json() == {"calls": []}


async def test_cdrs_of_a_window(env) -> None:
    runtime, client = env
    now = time.time()
    store = CdrStore(runtime.store.db)
    for account, request, at in (
        ("account_1", "a", now - 100),
        ("account_2", "b", now - 50),
        ("account_1", "old", now - 10 * 86400),
    ):
        store.insert(cdr(account, request, at))

    async def requests(**params: object) -> list[str]:
        response = await client.get("/api/admin/cdrs", params=params)
        assert response.status_code == 200, response.text
        AdminCdrs.model_validate(response.json())
        return [row["request_id"] for row in response.json()["cdrs"]]

    assert await requests() == ["a", "b"]  # the last 24 hours, oldest first
    assert await requests(since=now - 11 * 86400) == ["old", "a", "b"]
    assert await requests(since=now - 11 * 86400, account="account_1") == ["old", "a"]
    assert await requests(since=now - 11 * 86400, limit=1) == ["old"]
    assert await requests(since=now - 75, until=now) == ["b"]
    day = time.strftime("%Y-%m-%d", time.gmtime(now - 11 * 86400))
    until = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now + 1))
    assert await requests(since=day, until=until) == ["old", "a", "b"]

    for params, words in (
        ({"since": "yesterday"}, "since must be a unix time or an ISO 8601 date"),
        ({"until": "nan"}, "until must be"),
        ({"limit": "0"}, "limit must be 1 to 1000"),
        ({"limit": "ten"}, "limit must be an integer"),
    ):
        response = await client.get("/api/admin/cdrs", params=params)
        assert response.status_code == 400
        assert words in response.json()["error"]["message"]
