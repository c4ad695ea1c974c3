"""The console's Webhooks page over HTTP (httpx, in-process, a real switch and store,
a real delivery worker posting to a real receiver): set and clear the status_callback,
the API's refusals shown on the page, forged requests refused, a rotated secret that
signs the next delivery, and the deliveries listed with their attempts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from softswitch.config import WebhooksConfig
from softswitch.webhooks.service import Webhooks
from softswitch.webhooks.signing import HEADER, SignatureError, verify
from tests.api.console_env import BASE, ConsoleEnv, console_env_at
from tests.peers.webhook_receiver import WebhookReceiver

PAGE = "/console/webhooks"
SECRET_SHOWN = "Your webhook secret (shown only now, keep it): "


@pytest.fixture
def receiver(ports) -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(ports.port())
    yield r
    r.stop()


@pytest.fixture
async def env(tmp_path, ports, rtp_ports) -> AsyncIterator[ConsoleEnv]:
    async with console_env_at(tmp_path, ports, rtp_ports) as console_env:
        # the switch's "own" API address: a port of ours nothing else takes
        own = ("127.0.0.1", ports.port())
        config = WebhooksConfig(backoff_first_ms=100, backoff_max=1, timeout_ms=1000)
        webhooks = Webhooks(console_env.switch.store.db, config, own)
        console_env.ctx.webhooks = webhooks
        await webhooks.start()
        try:
            yield console_env
        finally:
            await webhooks.stop()


def webhooks_of(env: ConsoleEnv) -> Webhooks:
    assert env.ctx.webhooks is not None
    return env.ctx.webhooks


def secret_in(message: str) -> str:
    assert SECRET_SHOWN in message, message
    return message.split(SECRET_SHOWN, 1)[1].strip()


async def until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait on the test's own loop: the delivery worker runs on it too."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_set_change_and_clear_the_url_and_the_secret_shown_once(env, receiver):
    token = await env.login()
    page = await env.client.get(PAGE)
    assert page.status_code == 200 and "no URL: no events are recorded" in page.text
    assert '<a href="/console/webhooks" class="current"' in page.text

    first = await env.act(PAGE + "/url", token, status_callback=receiver.url("/one"))
    assert first.status_code == 200 and first.json()["ok"] is True
    secret = secret_in(first.json()["message"])
    assert secret.startswith("whsec_")
    assert webhooks_of(env).settings.get("account_1").secret == secret
    page = await env.client.get(PAGE)
    assert f'<code id="status-callback">{receiver.url("/one")}</code>' in page.text
    assert secret not in page.text  # never shown again

    again = await env.act(PAGE + "/url", token, status_callback=receiver.url("/two"))
    assert again.json() == {"ok": True, "message": "status_callback set."}  # no secret

    # a plain form (no JavaScript): a 303 back, the message shown once on the page
    plain = await env.client.post(
        PAGE + "/url", data={"status_callback": "", "csrf_token": token}, headers={"Origin": BASE}
    )
    assert plain.status_code == 303 and plain.headers["location"] == PAGE
    page = await env.client.get(PAGE)
    assert "status_callback cleared." in page.text and "no URL" in page.text
    assert "status_callback cleared." not in (await env.client.get(PAGE)).text
    # the other account has none
    assert webhooks_of(env).settings.get("account_2") is None


async def test_a_url_the_api_refuses_is_refused_with_its_message(env):
    token = await env.login()
    own_host, own_port = webhooks_of(env).settings.own
    refused = {
        "ftp://example.com/hook": "status_callback: only http:// and https:// URLs are allowed",
        f"http://{own_host}:{own_port}/hook": "points at this switch's own API",
        f"http://localhost:{own_port}/": "points at this switch's own API",
        "http:///nohost": "status_callback: the URL has no host",
    }
    for url, why in refused.items():
        answer = await env.act(PAGE + "/url", token, status_callback=url)
        assert answer.status_code == 400 and answer.json()["ok"] is False, url
        assert why in answer.json()["message"], answer.json()
    assert webhooks_of(env).settings.get("account_1") is None  # nothing stored

    # without JavaScript the refusal is on the page the form returns to
    plain = await env.client.post(
        PAGE + "/url",
        data={"status_callback": "ftp://example.com/x", "csrf_token": token},
        headers={"Origin": BASE},
    )
    assert plain.status_code == 303
    page = await env.client.get(PAGE)
    assert "only http:// and https:// URLs are allowed" in page.text

    bad = await env.client.get(PAGE, params={"status": "lost"})
    assert bad.status_code == 400 and "status: &#39;lost&#39; is not one of" in bad.text


async def test_forged_or_cross_origin_changes_are_refused(env, receiver):
    token = await env.login()
    forged = await env.act(PAGE + "/url", "guessed", status_callback=receiver.url())
    assert forged.status_code == 403 and "CSRF" in forged.json()["message"]
    missing = await env.act(PAGE + "/secret", None)
    assert missing.status_code == 403
    cross = await env.client.post(
        PAGE + "/secret",
        data={"csrf_token": token},
        headers={"Origin": "http://evil.test", "Accept": "application/json"},
    )
    assert cross.status_code == 403 and cross.json()["message"] == "cross-origin request refused"
    assert webhooks_of(env).settings.get("account_1") is None  # nothing changed
    # logged out: to the login, nothing changed
    await env.act("/console/logout", token)
    assert (await env.client.get(PAGE)).status_code == 303
    assert (await env.act(PAGE + "/secret", token)).status_code == 401
    assert webhooks_of(env).settings.get("account_1") is None


async def test_a_rotated_secret_signs_the_deliveries_listed_with_their_attempts(env, receiver):
    receiver.start()
    token = await env.login()
    webhooks = webhooks_of(env)
    first = await env.act(PAGE + "/url", token, status_callback=receiver.url("/hook"))
    old = secret_in(first.json()["message"])
    rotated = await env.act(PAGE + "/secret", token)
    assert rotated.status_code == 200
    assert rotated.json()["message"].startswith("webhook secret rotated")
    new = secret_in(rotated.json()["message"])
    assert new.startswith("whsec_") and new != old

    webhooks.events.campaign_finished("account_1", "camp-1", {"done": 3})
    await until(lambda: len(receiver.received("/hook")) == 1, 10, "the delivery")
    arrival = receiver.received("/hook")[0]
    verify(new, arrival.headers[HEADER.lower()], arrival.body, now=time.time())
    with pytest.raises(SignatureError):
        verify(old, arrival.headers[HEADER.lower()], arrival.body, now=time.time())
    event_id = arrival.event["id"]

    # a receiver that answers 500: retried, pending, its attempts listed
    receiver.modes["/hook"] = "fail"
    webhooks.events.campaign_finished("account_1", "camp-2", {"failed": 1})
    await until(lambda: len(receiver.received("/hook")) >= 3, 10, "two failed attempts")
    pending = await env.client.get(PAGE, params={"status": "pending"})
    assert pending.status_code == 200
    assert pending.text.count("<tr data-event=") == 1 and event_id not in pending.text
    assert "500" in pending.text and "campaign.finished" in pending.text

    page = await env.client.get(PAGE)
    rows = page.text.split("<tr data-event=")[1:]
    assert len(rows) == 2 and f'"{event_id}"' in rows[1]  # newest first
    assert '<td class="delivery-status ok">delivered' in rows[1]
    assert '<td class="attempts">1</td>' in rows[1]
    delivered = await env.client.get(PAGE, params={"status": "delivered"})
    assert delivered.text.count("<tr data-event=") == 1 and event_id in delivered.text
    receiver.modes["/hook"] = "ok"  # the retry lands; nothing is left waiting at teardown
    await until(lambda: webhooks.backlog() == 0, 10, "the retried delivery")


async def test_a_server_without_webhooks_says_so(tmp_path, ports, rtp_ports):
    async with console_env_at(tmp_path, ports, rtp_ports) as bare:
        token = await bare.login()
        page = await bare.client.get(PAGE)
        assert page.status_code == 503 and "webhooks are not available" in page.text
        answer = await bare.act(PAGE + "/secret", token)
        assert answer.status_code == 503
        assert answer.json()["message"] == "webhooks are not available on this server"
