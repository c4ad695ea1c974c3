"""The console's login, session cookie and CSRF rules, through HTTP (httpx, in-process):
wrong credentials, a forged login, an expired session, a forged state change all
refused; failed logins share the CPaaS API's throttle."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from api.console.security import COOKIE, LOGIN_COOKIE
from api.console.sessions import IDLE_SECONDS, LIFETIME_SECONDS
from tests.api.console_env import BASE, ConsoleEnv, console_env_at

MODIFY = "/console/live/modify"


@pytest.fixture
async def console_env(tmp_path, ports, rtp_ports) -> AsyncIterator[ConsoleEnv]:
    async with console_env_at(tmp_path, ports, rtp_ports) as env:
        yield env


def cookie_header(response: httpx.Response, name: str) -> str:
    found = [v for v in response.headers.get_list("set-cookie") if v.startswith(name + "=")]
    assert len(found) == 1, response.headers.get_list("set-cookie")
    return found[0].lower()


async def test_login_page_sets_a_strict_http_only_login_token(console_env: ConsoleEnv) -> None:
    page = await console_env.client.get("/")
    assert page.status_code == 200
    assert 'action="/console/login"' in page.text and 'name="auth"' in page.text
    cookie = cookie_header(page, LOGIN_COOKIE)
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


async def test_login_opens_a_session_with_a_safe_cookie(console_env: ConsoleEnv) -> None:
    token = await console_env.login_form()
    response = await console_env.client.post(
        "/console/login",
        data={"account": "account_1", "auth": "secret-one", "csrf_token": token},
        headers={"Origin": BASE},
    )
    assert response.status_code == 303 and response.headers["location"] == "/console/live"
    cookie = cookie_header(response, COOKIE)
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert f"max-age={LIFETIME_SECONDS}" in cookie
    assert "secure" not in cookie  # plain http here; see the TLS test below
    # the cookie is a random id: neither the account nor its secret is in it
    value = cookie.split(";")[0].split("=", 1)[1]
    assert "account_1" not in value and "secret" not in value and len(value) >= 40
    page = await console_env.client.get("/console/live")
    assert page.status_code == 200 and "account_1" in page.text
    # logged in, / leads to the console
    home = await console_env.client.get("/")
    assert home.status_code == 303 and home.headers["location"] == "/console/live"
    # logging in again (as another account, say) gives a new id and ends the old session
    console_env.client.cookies.set(LOGIN_COOKIE, "t" * 32)
    again = await console_env.client.post(
        "/console/login",
        data={"account": "account_2", "auth": "secret-two", "csrf_token": "t" * 32},
    )
    assert again.status_code == 303
    assert len(console_env.sessions) == 1
    assert console_env.client.cookies[COOKIE].lower() != value


async def test_cookie_is_secure_over_tls(console_env: ConsoleEnv) -> None:
    client = console_env.client
    client.base_url = httpx.URL("https://console.test")
    page = await client.get("/")
    assert "secure" in cookie_header(page, LOGIN_COOKIE)
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = await client.post(
        "/console/login", data={"account": "account_1", "auth": "secret-one", "csrf_token": token}
    )
    assert response.status_code == 303
    assert "secure" in cookie_header(response, COOKIE)


async def test_wrong_credentials_are_refused(console_env: ConsoleEnv) -> None:
    for account, auth in (("account_1", "wrong"), ("nobody", "secret-one"), ("account_1", "")):
        token = await console_env.login_form()
        response = await console_env.client.post(
            "/console/login", data={"account": account, "auth": auth, "csrf_token": token}
        )
        assert response.status_code in (400, 401), (account, response.status_code)
        assert COOKIE not in response.cookies
        assert "invalid account or auth" in response.text or "enter the account" in response.text
    page = await console_env.client.get("/console/live")
    assert page.status_code == 303 and page.headers["location"] == "/"
    assert len(console_env.sessions) == 0


async def test_a_forged_login_is_refused(console_env: ConsoleEnv) -> None:
    client = console_env.client
    good = {"account": "account_1", "auth": "secret-one"}
    # no login token at all (another site's form cannot read our cookie)
    client.cookies.clear()
    response = await client.post("/console/login", data=good)
    assert response.status_code == 403
    # a token that is not the one in the cookie
    await console_env.login_form()
    response = await client.post("/console/login", data={**good, "csrf_token": "forged"})
    assert response.status_code == 403
    # the right token, posted from another origin
    token = await console_env.login_form()
    response = await client.post(
        "/console/login",
        data={**good, "csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert len(console_env.sessions) == 0


async def test_failed_logins_share_the_api_throttle(console_env: ConsoleEnv) -> None:
    # [api_limits] failures_per_source = 20 (the default): the 21st try is refused with
    # Retry-After, and the CPaaS API refuses this address too, even with the right secret
    # (each guess names another account: no account's slow-down gets in the way)
    for i in range(20):
        token = await console_env.login_form()
        response = await console_env.client.post(
            "/console/login", data={"account": f"user{i}", "auth": "guess", "csrf_token": token}
        )
        assert response.status_code == 401
    token = await console_env.login_form()
    refused = await console_env.client.post(
        "/console/login", data={"account": "account_1", "auth": "secret-one", "csrf_token": token}
    )
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert "too many failed logins" in refused.text
    api = await console_env.client.get(
        "/api/live_calls", headers={"account": "account_1", "auth": "secret-one"}
    )
    assert api.status_code == 429


async def test_pages_need_a_session(console_env: ConsoleEnv) -> None:
    for path in (
        "/console/live",
        "/console/campaigns",
        "/console/cdrs",
        "/console/phones",
        "/console/trunks",
        "/console/voicemail",
        "/console/recordings/x.wav",
    ):
        response = await console_env.client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/", path
    events = await console_env.client.get("/console/live/events")
    assert events.status_code == 401
    action = await console_env.act(MODIFY, "anything", channel="SIP/101-1", modify_type="2")
    assert action.status_code == 401 and action.json()["ok"] is False
    # a made-up session id is no session
    console_env.client.cookies.set(COOKIE, "made-up")
    assert (await console_env.client.get("/console/live")).status_code == 303


async def test_state_changes_need_the_csrf_token_and_our_origin(console_env: ConsoleEnv) -> None:
    token = await console_env.login()
    fields = {"channel": "SIP/101-00000001", "modify_type": "2"}
    # no token, a wrong one, another session's
    assert (await console_env.act(MODIFY, None, **fields)).status_code == 403
    assert (await console_env.act(MODIFY, "forged", **fields)).status_code == 403
    # the right token from another origin (Origin, or Referer when Origin is absent)
    for header in ({"Origin": "https://evil.example"}, {"Referer": "http://evil.example/x"}):
        response = await console_env.client.post(
            MODIFY, data=fields, headers={"X-CSRF-Token": token, **header}
        )
        assert response.status_code == 403, header
    # the right token in the header, or in the form field of a page posted without
    # JavaScript: past the guard, to the call service (which has no such channel)
    ok = await console_env.act(MODIFY, token, **fields)
    assert ok.status_code == 404 and "not found" in ok.json()["message"]
    plain = await console_env.client.post(MODIFY, data={**fields, "csrf_token": token})
    assert plain.status_code == 303 and plain.headers["location"] == "/console/live"
    page = await console_env.client.get("/console/live")
    assert "not found" in page.text  # the plain form's answer, shown once
    again = await console_env.client.get("/console/live")
    assert "not found" not in again.text
    # not a form at all
    odd = await console_env.client.post(
        MODIFY,
        content=b'{"channel": "x"}',
        headers={"X-CSRF-Token": token, "Content-Type": "application/json"},
    )
    assert odd.status_code == 415
    # too large, too many fields
    big = await console_env.act(MODIFY, token, channel="x" * 20_000, modify_type="2")
    assert big.status_code == 400 and "too large" in big.json()["message"]
    many = await console_env.act(MODIFY, token, **{f"f{i}": "1" for i in range(40)})
    assert many.status_code == 400 and "too many form fields" in many.json()["message"]
    # a plain form posted many times without looking keeps only the last few answers
    for _ in range(8):
        await console_env.client.post(MODIFY, data={**fields, "csrf_token": token})
    page = await console_env.client.get("/console/live")
    assert page.text.count("not found") == 5


async def test_an_idle_or_old_session_expires(console_env: ConsoleEnv) -> None:
    token = await console_env.login()
    console_env.clock.now += IDLE_SECONDS - 60
    assert (await console_env.client.get("/console/cdrs")).status_code == 200
    console_env.clock.now += IDLE_SECONDS + 1
    page = await console_env.client.get("/console/live")
    assert page.status_code == 303 and page.headers["location"] == "/"
    action = await console_env.act(MODIFY, token, channel="SIP/101-1", modify_type="2")
    assert action.status_code == 401
    # a forged request does not keep a session alive, a real click does
    token = await console_env.login()
    console_env.clock.now += IDLE_SECONDS - 60
    assert (
        await console_env.act(MODIFY, "forged", channel="x", modify_type="2")
    ).status_code == 403
    console_env.clock.now += 120
    assert (await console_env.client.get("/console/live")).status_code == 303
    token = await console_env.login()
    console_env.clock.now += IDLE_SECONDS - 60
    assert (await console_env.act(MODIFY, token, channel="x", modify_type="2")).status_code == 404
    console_env.clock.now += 120
    assert (await console_env.client.get("/console/live")).status_code == 200
    # busy all day: still over at the session's lifetime
    console_env.client.cookies.clear()
    await console_env.login()
    for _ in range(int(LIFETIME_SECONDS // (IDLE_SECONDS / 2)) + 1):
        console_env.clock.now += IDLE_SECONDS / 2
        response = await console_env.client.get("/console/phones")
    assert response.status_code == 303
    # the one left behind above is over too, and dropped when next seen or made room for
    assert len(console_env.sessions) == 1


async def test_logout_ends_the_session(console_env: ConsoleEnv) -> None:
    token = await console_env.login()
    forged = await console_env.client.post("/console/logout", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    assert (await console_env.client.get("/console/live")).status_code == 200
    response = await console_env.client.post("/console/logout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert len(console_env.sessions) == 0
    assert (await console_env.client.get("/console/live")).status_code == 303
