"""The admin API's writing side on a started switch (the real app): extensions added,
changed, reset and removed, with the registrar enforcing their transports and device
limit on REGISTERs sent by our own UA over UDP; trunks and inbound numbers; errors in
the admin API's shape, naming the field."""

from __future__ import annotations

import httpx
import pytest

from softswitch.sip.transaction import Timers
from softswitch.sip.ua import UserAgent
from tests.api.test_admin_extensions import AdminEnv, admin_env, assert_error  # noqa: F401
from tests.test_registrar import register

FAST = Timers(t1=0.05, t2=0.2, t4=0.2)


@pytest.fixture
async def client_ua():
    ua = UserAgent("127.0.0.1", 0, lambda st: None, timers=FAST)
    await ua.start()
    yield ua
    await ua.stop()


async def post(env: AdminEnv, path: str, body: object) -> httpx.Response:
    return await env.client.post(path, json=body, headers=env.auth())


async def test_an_extension_added_registers_and_keeps_to_its_limits(
    admin_env: AdminEnv,  # noqa: F811
    client_ua: UserAgent,
) -> None:
    made = await post(admin_env, "/api/admin/extensions", {"number": "103", "name": "Desk"})
    assert made.status_code == 200, made.text
    body = made.json()
    password = body.pop("password")
    assert body == {
        "number": "103",
        "name": "Desk",
        "account": None,
        "outside_caller_id": None,
        "max_devices": 8,
        "codecs": [],
        "transports": [],
        "voicemail": False,
        "source": "api",
        "registrations": [],
    }
    server = admin_env.switch.ua
    ok = await register(server, client_ua, "103", password, expires=300)
    assert ok.status == 200

    tls_only = await admin_env.client.patch(
        "/api/admin/extensions/103", json={"transports": ["tls"]}, headers=admin_env.auth()
    )
    assert tls_only.status_code == 200 and tls_only.json()["transports"] == ["TLS"]
    refused = await register(server, client_ua, "103", password, expires=300, cseq=3)
    assert (refused.status, refused.reason) == (403, "Transport UDP Not Allowed")

    one = await admin_env.client.patch(
        "/api/admin/extensions/103",
        json={"transports": [], "max_devices": 1},
        headers=admin_env.auth(),
    )
    assert one.status_code == 200
    again = await register(server, client_ua, "103", password, expires=300, cseq=5)
    assert again.status == 200  # a refresh of the one device
    second = await register(
        server,
        client_ua,
        "103",
        password,
        contacts=["<sip:103@127.0.0.1:5999>"],
        call_id="reg-2",
        expires=300,
    )
    assert (second.status, second.reason) == (403, "Too Many Devices (at most 1)")
    shown = await admin_env.client.get("/api/admin/extensions/103", headers=admin_env.auth())
    assert len(shown.json()["registrations"]) == 1

    reset = await post(admin_env, "/api/admin/extensions/103/password", {})
    assert reset.status_code == 200
    new = reset.json()["password"]
    assert new != password and admin_env.switch.store.bindings("103") == []
    old = await register(server, client_ua, "103", password, expires=300, call_id="reg-3")
    assert old.status in (401, 403)
    fresh = await register(server, client_ua, "103", new, expires=300, call_id="reg-4")
    assert fresh.status == 200

    gone = await admin_env.client.delete("/api/admin/extensions/103", headers=admin_env.auth())
    assert gone.json() == {"number": "103", "removed": True}
    assert admin_env.switch.store.bindings("103") == []
    missing = await admin_env.client.get("/api/admin/extensions/103", headers=admin_env.auth())
    assert_error(missing, 404)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"number": "101"}, 409, "number: extension 101 exists"),
        ({"number": "*72"}, 409, "number: *72 is a feature code"),
        ({"number": "15550100"}, 409, "number: 15550100 is an inbound number (DID)"),
        ({"number": "104", "codecs": ["G729"]}, 400, "codecs: G729 is not one of PCMU, PCMA"),
        ({"number": "104", "account": "nobody"}, 400, "account: no account nobody"),
        ({"number": "104", "max_devices": 99}, 400, "max_devices: must be an integer"),
        ({"number": "104", "pin": "1"}, 400, "pin: unknown field"),
        ({}, 400, "number: must be a string of digits"),
        ([], 400, "the body must be a JSON object"),
    ],
)
async def test_a_refused_extension_names_the_field_and_leaves_nothing(
    admin_env: AdminEnv,  # noqa: F811
    body: object,
    status: int,
    message: str,
) -> None:
    did = {"number": "15550100", "account": "account_1", "destination": "extension:101"}
    assert (await post(admin_env, "/api/admin/numbers", did)).status_code == 200
    before = admin_env.switch.store.extensions()
    refused = await post(admin_env, "/api/admin/extensions", body)
    assert assert_error(refused, status).startswith(message)
    assert admin_env.switch.store.extensions() == before


async def test_writes_need_the_token(admin_env: AdminEnv) -> None:  # noqa: F811
    anonymous = await admin_env.client.post("/api/admin/extensions", json={"number": "104"})
    assert_error(anonymous, 401)
    assert admin_env.switch.store.extension("104") is None


async def test_trunks_added_changed_and_removed(admin_env: AdminEnv) -> None:  # noqa: F811
    switch = admin_env.switch
    body = {"name": "backup", "host": "127.0.0.1:9", "register": False, "password": "x"}
    made = await post(admin_env, "/api/admin/trunks", body)
    assert made.status_code == 200, made.text
    shown = made.json()
    assert shown["password_set"] and "password" not in shown and shown["state"] == "ip-auth"
    assert [t.name for t in switch.trunks] == ["backup"]
    assert switch.router.route("15550123").trunk is switch.trunks[0]
    assert_error(await post(admin_env, "/api/admin/trunks", body), 409)
    changed = await admin_env.client.patch(
        "/api/admin/trunks/backup", json={"prefixes": ["49"]}, headers=admin_env.auth()
    )
    assert changed.json()["prefixes"] == ["49"]
    assert switch.router.route("15550123") is None and switch.router.route("4930") is not None
    bad = await admin_env.client.patch(
        "/api/admin/trunks/backup", json={"transport": "sctp"}, headers=admin_env.auth()
    )
    assert "transport must be udp, tcp or tls" in assert_error(bad, 400)
    listed = (await admin_env.client.get("/api/admin/trunks", headers=admin_env.auth())).json()
    assert [t["prefixes"] for t in listed["trunks"]] == [["49"]]
    gone = await admin_env.client.delete("/api/admin/trunks/backup", headers=admin_env.auth())
    assert gone.json() == {"name": "backup", "removed": True} and switch.trunks == []
    missing = await admin_env.client.delete("/api/admin/trunks/backup", headers=admin_env.auth())
    assert_error(missing, 404)


async def test_numbers_of_every_account(admin_env: AdminEnv) -> None:  # noqa: F811
    number = {"number": "+15550100", "account": "account_1", "destination": "extension:101"}
    made = await post(admin_env, "/api/admin/numbers", number)
    assert made.status_code == 200, made.text
    assert made.json()["number"] == "15550100"
    assert_error(await post(admin_env, "/api/admin/numbers", number), 409)
    wrong_body = {**number, "number": "15550101", "destination": "extension:999"}
    wrong = await post(admin_env, "/api/admin/numbers", wrong_body)
    assert "destination: unknown destination extension:999" in assert_error(wrong, 400)
    moved = await admin_env.client.put(
        "/api/admin/numbers/15550100",
        json={"destination": "extension:102"},
        headers=admin_env.auth(),
    )
    assert moved.status_code == 200 and moved.json()["destination"] == "extension:102"
    listed = (await admin_env.client.get("/api/admin/numbers", headers=admin_env.auth())).json()
    assert [(n["number"], n["account"]) for n in listed["numbers"]] == [("15550100", "account_1")]
    gone = await admin_env.client.delete("/api/admin/numbers/15550100", headers=admin_env.auth())
    assert gone.status_code == 200 and admin_env.switch.numbers.lookup("15550100") is None
