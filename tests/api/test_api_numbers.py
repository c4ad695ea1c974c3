"""`/api/numbers` and `/api/ring_groups`: per account, validated, errors naming the field."""

from __future__ import annotations

from tests.api.conftest import ACCOUNT_2, on_both_engines

# the store behind the API: every test of api_env here on SQLite and on PostgreSQL
api_store = on_both_engines

HOURS = {
    "time_zone": "Europe/Berlin",
    "open": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}],
}


async def test_numbers_and_ring_groups_crud(api_env) -> None:
    status, body = await api_env.call(
        "POST", "/api/ring_groups", {"id": "sales", "members": ["101", "102"], "timeout": 20}
    )
    assert status == 200 and body["response"]["id"] == "sales", body
    status, body = await api_env.call(
        "POST",
        "/api/numbers",
        {
            "number": "+4930123456",
            "destination": "ring_group:sales",
            "hours": HOURS,
            "closed": "voicemail:101",
        },
    )
    assert status == 200 and body["response"]["number"] == "4930123456", body
    status, body = await api_env.call("GET", "/api/numbers")
    [item] = body["response"]["result"]
    assert item["destination"] == "ring_group:sales" and item["account"] == "account_1"
    assert item["hours"]["time_zone"] == "Europe/Berlin"
    # PATCH: the given fields replace; null clears (hours and closed go together)
    status, body = await api_env.call(
        "PATCH",
        "/api/numbers/4930123456",
        {"hours": None, "closed": None, "destination": "extension:102"},
    )
    assert status == 200, body
    status, body = await api_env.call("GET", "/api/numbers/+4930123456")
    assert body["response"]["result"] == {
        "number": "4930123456",
        "account": "account_1",
        "destination": "extension:102",
    }
    # another account sees none of it
    status, body = await api_env.call("GET", "/api/numbers/4930123456", headers=ACCOUNT_2)
    assert status == 404 and body["response"]["message"] == "number: no number 4930123456"
    status, body = await api_env.call("GET", "/api/ring_groups", headers=ACCOUNT_2)
    assert body["response"]["result"] == []
    status, body = await api_env.call("PATCH", "/api/ring_groups/sales", {"strategy": "sequential"})
    assert status == 200, body
    status, body = await api_env.call("GET", "/api/ring_groups/sales")
    assert body["response"]["result"]["strategy"] == "sequential"
    status, body = await api_env.call("DELETE", "/api/numbers/4930123456")
    assert status == 200
    status, body = await api_env.call("DELETE", "/api/ring_groups/sales")
    assert status == 200
    status, body = await api_env.call("GET", "/api/numbers")
    assert body["response"]["result"] == [] and body["response"]["message"] == "no numbers"


async def test_bad_numbers_are_refused_naming_the_field(api_env) -> None:
    cases = [
        (
            {"number": "4930123456", "destination": "ring_group:nope"},
            400,
            "destination: unknown destination ring_group:nope",
        ),
        (
            {
                "number": "4930123456",
                "destination": "extension:101",
                "closed": "extension:102",
                "hours": HOURS | {"time_zone": "Mars/Base"},
            },
            400,
            "hours.time_zone: unknown time zone 'Mars/Base'",
        ),
        (
            {
                "number": "4930123456",
                "destination": "extension:101",
                "closed": "extension:102",
                "hours": HOURS | {"open": HOURS["open"] * 2},
            },
            400,
            "hours: open[1] overlaps open[0] on mon",
        ),
        (
            {"number": "4930123456", "destination": "extension:101", "account": "account_2"},
            400,
            "account: set by the account header, not the body",
        ),
        ({"number": "4930123456"}, 400, "destination: Field required"),
    ]
    for data, status, message in cases:
        got, body = await api_env.call("POST", "/api/numbers", data)
        assert (got, body["response"]["message"]) == (status, message)
        assert body["response"]["success"] == "false"
    ok, _ = await api_env.call(
        "POST", "/api/numbers", {"number": "4930123456", "destination": "extension:101"}
    )
    assert ok == 200
    got, body = await api_env.call(
        "POST",
        "/api/numbers",
        {"number": "4930123456", "destination": "extension:101"},
        headers=ACCOUNT_2,
    )
    assert got == 409 and body["response"]["message"] == "number: 4930123456 is already in use"
    got, body = await api_env.call(
        "POST", "/api/ring_groups", {"id": "g", "members": ["101", "777"]}
    )
    assert got == 400 and body["response"]["message"] == "members[1]: no extension 777"
    got, body = await api_env.call(
        "POST", "/api/ring_groups", {"id": "g", "members": ["101"], "strategy": "x"}
    )
    assert got == 400 and body["response"]["message"].startswith("strategy: Input should be")
    got, body = await api_env.call(
        "GET", "/api/numbers", headers={"account": "account_1", "auth": "bad"}
    )
    assert got == 401


async def test_ivr_flows_are_checked_against_the_accounts_destinations(api_env) -> None:
    menu = {
        "type": "menu",
        "prompt": {"type": "say", "text": "Press 1 for sales"},
        "options": {"1": "ring_group:sales"},
    }
    status, body = await api_env.call("POST", "/api/flows", {"flow_name": "ivr", "flow": [menu]})
    assert status == 400
    assert body["response"]["message"] == (
        "flow: step 0 options 1: unknown destination ring_group:sales"
    )
    await api_env.call("POST", "/api/ring_groups", {"id": "sales", "members": ["101"]})
    status, body = await api_env.call("POST", "/api/flows", {"flow_name": "ivr", "flow": [menu]})
    assert status == 200, body
    # the number may name the flow by its name or id
    status, body = await api_env.call(
        "POST", "/api/numbers", {"number": "4930123456", "destination": "flow:ivr"}
    )
    assert status == 200, body
    status, body = await api_env.call(
        "POST", "/api/numbers", {"number": "4930123457", "destination": "flow:nope"}
    )
    assert body["response"]["message"] == "destination: unknown destination flow:nope"


async def test_a_flow_or_group_in_use_cannot_be_deleted_or_renamed(api_env) -> None:
    flow = [{"type": "hangup"}]
    _, body = await api_env.call("POST", "/api/flows", {"flow_name": "ivr", "flow": flow})
    flow_id = body["response"]["flow_id"]
    await api_env.call(
        "POST", "/api/ring_groups", {"id": "g", "members": ["101"], "fallback": "flow:" + flow_id}
    )
    await api_env.call("POST", "/api/numbers", {"number": "4930123456", "destination": "flow:ivr"})
    status, body = await api_env.call("DELETE", f"/api/flows/{flow_id}")
    assert status == 409
    assert body["response"]["message"] == (
        f"flow_id: flow {flow_id} is the destination of number 4930123456"
    )
    status, body = await api_env.call(
        "PUT", f"/api/flows/{flow_id}", {"flow_name": "renamed", "flow": flow}
    )
    assert status == 409 and "flow_name: flow 'ivr' is the destination of" in str(body)
    status, _ = await api_env.call(
        "PUT", f"/api/flows/{flow_id}", {"flow_name": "ivr", "flow": flow * 2}
    )
    assert status == 200
    await api_env.call("DELETE", "/api/numbers/4930123456")
    status, body = await api_env.call("DELETE", f"/api/flows/{flow_id}")
    assert status == 409 and "ring group g" in body["response"]["message"]
    await api_env.call("DELETE", "/api/ring_groups/g")
    status, _ = await api_env.call("DELETE", f"/api/flows/{flow_id}")
    assert status == 200


def reply(body: dict) -> dict:
    """The CPaaS envelope's response without its success flag."""
    return {k: v for k, v in body["response"].items() if k != "success"}


async def test_numbers_and_ring_groups_reply_alike_in_their_own_words(api_env) -> None:
    """Both kinds share one pair of handlers: each reply names its own kind and key."""
    kinds = [
        ("/api/ring_groups", "ring group", "id", "sales", {"members": ["101"]}),
        ("/api/numbers", "number", "number", "4930555", {"destination": "extension:101"}),
    ]
    for path, noun, key, name, fields in kinds:
        plural = path.removeprefix("/api/").replace("_", " ")
        status, body = await api_env.call("GET", path)
        assert (status, body["response"]["message"]) == (200, f"no {plural}")
        status, body = await api_env.call("POST", path, {key: name, **fields})
        assert (status, reply(body)) == (200, {"message": f"{noun} added", key: name})
        status, body = await api_env.call("POST", path, {key: name, **fields})
        assert status == 409, body  # the key is taken
        status, body = await api_env.call("GET", path)
        assert body["response"]["message"] == f"{plural} found"
        status, body = await api_env.call("GET", f"{path}/{name}")
        assert body["response"]["message"] == f"{noun} found"
        assert body["response"]["result"][key] == name
        status, body = await api_env.call("PATCH", f"{path}/{name}", {key: name + "9"})
        assert status == 400 and body["response"]["message"].startswith(f"{key}: cannot be changed")
        status, body = await api_env.call("PATCH", f"{path}/{name}", {key: name, **fields})
        assert (status, reply(body)) == (200, {"message": f"{noun} modified", key: name})
        status, body = await api_env.call("PATCH", f"{path}/{name}", {"account": "x"})
        assert status == 400, body  # the account comes from the header
        status, body = await api_env.call("GET", f"{path}/{name}", headers=ACCOUNT_2)
        assert (status, body["response"]["message"]) == (404, f"{key}: no {noun} {name}")
    # a ring group a number routes to cannot go: 409, and the number names it
    await api_env.call("PATCH", "/api/numbers/4930555", {"destination": "ring_group:sales"})
    status, body = await api_env.call("DELETE", "/api/ring_groups/sales")
    assert status == 409 and "4930555" in body["response"]["message"], body
    for path, noun, key, name, _ in reversed(kinds):
        status, body = await api_env.call("DELETE", f"{path}/{name}")
        assert (status, reply(body)) == (200, {"message": f"{noun} deleted", key: name})
