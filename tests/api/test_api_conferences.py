"""/api/conferences: rooms per account (create, read, change, delete, refusals) and the
participants of a live room (listed, muted, kicked, dialed in)."""

from __future__ import annotations

from media.ports import PortAllocator
from tests.api.conftest import ACCOUNT_2, on_both_engines
from tests.legs import legs

# the store behind the API: every test of api_env here on SQLite and on PostgreSQL
api_store = on_both_engines


async def test_rooms_are_made_changed_and_deleted_per_account(api_env) -> None:
    status, body = await api_env.call(
        "POST",
        "/api/conferences",
        {"room": "800", "pin": "1234", "name": "Sales", "record": "true"},
    )
    assert status == 200, body
    room = body["response"]["result"]
    assert room == {
        "room": "800",
        "name": "Sales",
        "pin": "1234",
        "record": "true",
        "max_participants": 10,
        "participants": 0,
        "recording_name": "",
        "source": "api",
    }
    status, body = await api_env.call("GET", "/api/conferences")
    assert [r["room"] for r in body["response"]["result"]] == ["800"]
    status, body = await api_env.call("GET", "/api/conferences", headers=ACCOUNT_2)
    assert body["response"]["result"] == [] and body["response"]["message"] == "no conferences"
    status, _ = await api_env.call("GET", "/api/conferences/800", headers=ACCOUNT_2)
    assert status == 404
    status, body = await api_env.call(
        "PATCH", "/api/conferences/800", {"pin": "", "max_participants": 3}
    )
    assert status == 200, body
    assert body["response"]["result"]["pin"] == ""
    assert body["response"]["result"]["max_participants"] == 3
    assert api_env.switch.router.route("800") is not None  # dialable at once
    status, body = await api_env.call("DELETE", "/api/conferences/800")
    assert status == 200 and body["response"]["success"] == "true"
    status, _ = await api_env.call("GET", "/api/conferences/800")
    assert status == 404


async def test_wrong_rooms_are_refused(api_env) -> None:
    cases = [
        ({"room": "101"}, 400, "extension"),
        ({"room": "80a"}, 400, "room"),
        ({"room": "800", "pin": "12ab"}, 400, "pin"),
        ({"room": "800", "max_participants": 1}, 400, "max_participants"),
        ({"room": "800", "record": "maybe"}, 400, "record"),
        ({"pin": "1"}, 400, "room: field required"),
    ]
    for body, status, word in cases:
        got, answer = await api_env.call("POST", "/api/conferences", body)
        assert got == status, body
        assert word in answer["response"]["message"] and answer["response"]["success"] == "false"
    assert (await api_env.call("POST", "/api/conferences", {"room": "800"}))[0] == 200
    status, body = await api_env.call("POST", "/api/conferences", {"room": "800"}, ACCOUNT_2)
    assert status == 409  # numbers are dialed without an account: unique across accounts
    status, _ = await api_env.call("GET", "/api/conferences", headers={"account": "account_1"})
    assert status == 401


async def test_participants_are_listed_muted_and_kicked(api_env) -> None:
    await api_env.call("POST", "/api/conferences", {"room": "800"})
    status, body = await api_env.call("GET", "/api/conferences/800/participants")
    assert status == 200 and body["response"]["result"] == []
    rooms = api_env.switch.conferences
    settings = rooms.settings("800")
    async with legs(PortAllocator(35000, 35999)) as made:
        a, b = await made.leg("101"), await made.leg("102")
        room = rooms.open(settings)
        first, second = room.join(a.channel), room.join(b.channel)
        status, body = await api_env.call("GET", "/api/conferences/800/participants")
        listed = body["response"]["result"]
        assert [p["participant_id"] for p in listed] == [first.id, second.id]
        assert [p["number"] for p in listed] == ["101", "102"]
        assert all(p["muted"] == "false" for p in listed)
        path = f"/api/conferences/800/participants/{first.id}"
        status, body = await api_env.call("PATCH", path, {"muted": True})
        assert status == 200 and body["response"]["result"]["muted"] == "true"
        assert first.muted and not room.mixer.hears(second, first)
        status, body = await api_env.call("PATCH", path, {"muted": "false"})
        assert not first.muted and room.mixer.hears(second, first)
        status, _ = await api_env.call("DELETE", path, headers=ACCOUNT_2)
        assert status == 404
        status, body = await api_env.call("DELETE", path)
        assert status == 200 and a.channel.state == "hungup" and len(room) == 1
        status, _ = await api_env.call("DELETE", path)
        assert status == 404
        status, body = await api_env.call("GET", "/api/conferences")
        assert body["response"]["result"][0]["participants"] == 1
        room.leave(second)


async def test_dialing_a_participant_in_needs_a_reachable_number(api_env) -> None:
    await api_env.call("POST", "/api/conferences", {"room": "800"})
    status, body = await api_env.call(
        "POST", "/api/conferences/800/participants", {"number": "102"}
    )
    assert status == 409 and "not registered" in body["response"]["message"]
    status, body = await api_env.call(
        "POST", "/api/conferences/801/participants", {"number": "102"}
    )
    assert status == 404
    status, body = await api_env.call("POST", "/api/conferences/800/participants", {})
    assert status == 400
