"""Headers `account`/`auth` on every endpoint; 401 in the spec's envelope otherwise."""

from __future__ import annotations

import pytest

from softswitch.accounts import rotate_account
from softswitch.store.accounts import AccountStore
from tests.api.conftest import ACCOUNT_1, on_both_engines

# the store behind the API: every test of api_env here on SQLite and on PostgreSQL
api_store = on_both_engines

ENDPOINTS = [
    ("POST", "/api/click2call"),
    ("POST", "/api/callback"),
    ("PATCH", "/api/callback"),
    ("DELETE", "/api/callback"),
    ("POST", "/api/outbound_call"),
    ("POST", "/api/modify_call"),
    ("GET", "/api/live_calls"),
    ("GET", "/api/get_live_call_statistics"),
    ("POST", "/api/get_cdr_by_date"),
    ("POST", "/api/get_cdr_by_request_id"),
    ("GET", "/api/get_cdr_statistics"),
    ("GET", "/api/announce_templates"),
    ("POST", "/api/announce_templates"),
    ("GET", "/api/flows"),
    ("POST", "/api/flows"),
    ("POST", "/api/upload"),
    ("GET", "/api/recordings/x.wav"),
]


@pytest.mark.parametrize("method, path", ENDPOINTS)
async def test_every_endpoint_wants_credentials(api_env, method: str, path: str) -> None:
    for headers in (
        {},
        {"account": "account_1"},
        {"account": "account_1", "auth": "wrong"},
        {"account": "nobody", "auth": "secret-one"},
        {"account": "account_2", "auth": "secret-one"},
    ):
        status, body = await api_env.call(method, path, {}, headers=headers)
        assert status == 401, (headers, body)
        assert body["response"]["success"] == "false"
        assert "account" in body["response"]["message"] or "auth" in body["response"]["message"]


async def test_credentials_are_checked_before_the_body(api_env) -> None:
    status, _ = await api_env.call("POST", "/api/click2call", "not json", headers={})
    assert status == 401
    status, body = await api_env.call("POST", "/api/click2call", "not json")
    assert status == 400 and "invalid JSON" in body["response"]["message"]


async def test_a_rotated_secret_stops_working_at_once(api_env) -> None:
    status, _ = await api_env.call("GET", "/api/get_live_call_statistics")
    assert status == 200  # now remembered in the fast path
    store = AccountStore(api_env.switch.store.db)
    store.db.execute("UPDATE accounts SET source = 'cli' WHERE id = 'account_1'")
    secret = rotate_account(store, "account_1")
    status, _ = await api_env.call("GET", "/api/get_live_call_statistics")
    assert status == 401
    status, _ = await api_env.call(
        "GET", "/api/get_live_call_statistics", headers={"account": "account_1", "auth": secret}
    )
    assert status == 200


async def test_secrets_are_not_stored(api_env) -> None:
    rows = list(api_env.switch.store.db.execute("SELECT id, secret_hash FROM accounts"))
    assert {r[0] for r in rows} == {"account_1", "account_2"}
    assert all(ACCOUNT_1["auth"] not in r[1] and r[1].startswith("scrypt$") for r in rows)
