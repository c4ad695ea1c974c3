"""The admin API's extensions view, through the real app (create_app) on a started
switch: bearer tokens, throttled failures, registrations with their reachability."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.context import AppContext
from media.tts import Tts
from softswitch.admin_tokens import create_admin_token
from softswitch.calls import CallService
from softswitch.sip.transaction import Timers
from softswitch.store import Binding
from softswitch.store.admin_tokens import AdminTokenStore
from softswitch.switch import Switch
from tests.switch_harness import switch_config

# a silent device's OPTIONS times out after 64 * T1 = 1.6 s
FAST = Timers(t1=0.025, t2=0.2, t4=0.2)


@dataclass
class AdminEnv:
    switch: Switch
    app: object
    client: httpx.AsyncClient
    token: str
    token_id: str

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    def client_from(self, host: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(host, 40000))  # type: ignore[arg-type]
        return httpx.AsyncClient(transport=transport, base_url="http://admin.test")


@pytest.fixture
async def admin_env(tmp_path: Path, ports) -> AsyncIterator[AdminEnv]:
    config = switch_config(
        tmp_path,
        ports.port(),
        29700,
        extensions={"101": "pw101", "102": "pw102"},
        sip={"nat_keepalive": 1},
        accounts={"account_1": "secret-one"},
    )
    config.extensions[0].name = "Front desk"
    switch = Switch(config, announce=lambda line: None, timers=FAST)
    await switch.start()
    tts = Tts(Path(config.media.prompts_dir), engine="flite", allow_online=False)
    calls = CallService.configured(switch, tts)
    made = create_admin_token(AdminTokenStore(switch.store.db))
    app = create_app(AppContext(switch=switch, calls=calls, tts=tts))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://admin.test"
    ) as client:
        yield AdminEnv(switch, app, client, made.token, made.id)
    await calls.stop(grace=0.5)
    await switch.stop()
    switch.store.close()


@pytest.fixture
def silent_udp() -> Iterator[socket.socket]:
    """A bound UDP socket that never answers: a phone that was switched off."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


def binding(aor: str, port: int, *, expires_in: float = 600, **fields: object) -> Binding:
    values: dict[str, object] = dict(
        aor=aor,
        contact=f"sip:{aor}@192.168.1.20:5060;transport=udp",
        expires_at=time.time() + expires_in,
        call_id=f"reg-{aor}-{port}",
        cseq=1,
        transport="UDP",
        source_host="127.0.0.1",
        source_port=port,
        user_agent="baresip v3",
    )
    values.update(fields)
    return Binding(**values)  # type: ignore[arg-type]


def assert_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and body["error"]["status"] == status
    message = body["error"]["message"]
    assert isinstance(message, str) and message
    return message


async def test_no_credential_is_401_with_a_bearer_challenge(admin_env: AdminEnv) -> None:
    for path in ("/api/admin/extensions", "/api/admin/extensions/101"):
        response = await admin_env.client.get(path)
        assert "Authorization" in assert_error(response, 401)
        assert response.headers["www-authenticate"] == 'Bearer realm="softswitch-admin"'


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer ssa_not-a-token"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"Authorization": "Bearer " + "x" * 5000},
        # a CPaaS account is no admin credential, in either header style
        {"account": "account_1", "auth": "secret-one"},
        {"Authorization": "Bearer secret-one"},
    ],
)
async def test_a_wrong_credential_is_401(admin_env: AdminEnv, headers: dict[str, str]) -> None:
    response = await admin_env.client.get("/api/admin/extensions", headers=headers)
    assert_error(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer ")


async def test_a_revoked_token_stops_at_once(admin_env: AdminEnv) -> None:
    ok = await admin_env.client.get("/api/admin/extensions", headers=admin_env.auth())
    assert ok.status_code == 200
    assert AdminTokenStore(admin_env.switch.store.db).delete(admin_env.token_id)
    gone = await admin_env.client.get("/api/admin/extensions", headers=admin_env.auth())
    assert_error(gone, 401)
    assert 'error="invalid_token"' in gone.headers["www-authenticate"]


async def test_every_extension_with_its_registrations(admin_env: AdminEnv) -> None:
    store = admin_env.switch.store
    store.put_binding(binding("101", 5062, expires_in=300))
    store.put_binding(
        binding(
            "101",
            5071,
            contact="sip:101@10.0.0.9:5071;transport=tls",
            transport="TLS",
            user_agent="",
            expires_in=3000,
        )
    )
    store.put_binding(binding("102", 5063, expires_in=-5))  # expired: not shown
    store.put_binding(binding("999", 5064))  # no such extension: not listed

    response = await admin_env.client.get("/api/admin/extensions", headers=admin_env.auth())
    assert response.status_code == 200
    body = response.json()
    assert [e["number"] for e in body["extensions"]] == ["101", "102"]
    front, other = body["extensions"]
    assert front["name"] == "Front desk" and other["name"] is None
    assert other["registrations"] == []
    tls, udp = front["registrations"]  # most recently refreshed (longest to live) first
    assert tls == {
        "contact": "sip:101@10.0.0.9:5071;transport=tls",
        "source_host": "127.0.0.1",
        "source_port": 5071,
        "transport": "tls",
        "user_agent": "",
        "expires_in": 3000,
        "reachable": True,
    }
    assert udp["transport"] == "udp" and udp["user_agent"] == "baresip v3"
    assert udp["source_port"] == 5062 and 298 <= udp["expires_in"] <= 300
    # no secret of any kind in the answer
    text = response.text.lower()
    assert "ha1" not in text and "password" not in text and "pw101" not in text
    ext = store.extension("101")
    assert ext is not None and ext.ha1_md5 not in text and ext.ha1_sha256 not in text

    one = await admin_env.client.get("/api/admin/extensions/101", headers=admin_env.auth())
    assert one.status_code == 200 and one.json() == front


async def test_an_unknown_number_is_404(admin_env: AdminEnv) -> None:
    for number in ("103", "999", "abc", "%2e%2e"):
        response = await admin_env.client.get(
            f"/api/admin/extensions/{number}", headers=admin_env.auth()
        )
        assert "no extension" in assert_error(response, 404)


async def test_an_unknown_number_needs_the_credential_first(admin_env: AdminEnv) -> None:
    # no way to learn which extensions exist without the token
    response = await admin_env.client.get("/api/admin/extensions/103")
    assert_error(response, 401)


async def test_repeated_failures_from_one_address_are_throttled(admin_env: AdminEnv) -> None:
    wrong = admin_env.auth("ssa_guess")
    for _ in range(9):
        assert_error(await admin_env.client.get("/api/admin/extensions", headers=wrong), 401)
    # a success resets the count for its address
    good = await admin_env.client.get("/api/admin/extensions", headers=admin_env.auth())
    assert good.status_code == 200
    for _ in range(9):
        assert_error(await admin_env.client.get("/api/admin/extensions", headers=wrong), 401)
    assert_error(await admin_env.client.get("/api/admin/extensions", headers=wrong), 401)
    # the tenth failure in a minute: the address is refused, even with the right token
    for headers in (wrong, admin_env.auth(), {}):
        response = await admin_env.client.get("/api/admin/extensions", headers=headers)
        assert "too many" in assert_error(response, 429)
        assert int(response.headers["retry-after"]) > 0
    # another address is not affected
    async with admin_env.client_from("127.0.0.2") as elsewhere:
        response = await elsewhere.get("/api/admin/extensions", headers=admin_env.auth())
        assert response.status_code == 200


async def test_a_device_that_stops_answering_shows_unreachable(
    admin_env: AdminEnv, silent_udp: socket.socket
) -> None:
    port = silent_udp.getsockname()[1]
    admin_env.switch.store.put_binding(binding("102", port))

    async def reachable() -> bool:
        response = await admin_env.client.get("/api/admin/extensions/102", headers=admin_env.auth())
        assert response.status_code == 200
        [registration] = response.json()["registrations"]
        return registration["reachable"]

    assert await reachable()
    deadline = time.monotonic() + 10
    while await reachable():
        assert time.monotonic() < deadline, "the silent device never shown unreachable"
        await asyncio.sleep(0.2)
    # the same verdict as /health
    health = (await admin_env.client.get("/health")).json()
    assert health["unreachable_contacts"] == ["sip:102@192.168.1.20:5060;transport=udp"]
