"""`/api/webhooks` over HTTP against the whole process, with a real receiver (uvicorn):
settings and their bad input, the deliveries listing, a receiver down for a while, and
a receiver answering 500 or hanging while another account's events still arrive.

Events come from click2calls to an extension that is not registered: each call is
initiated and completed (CHANUNAVAIL) at once, no phone needed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from api.cpaas.replies import (
    Deliveries,
    WebhookSecretRotated,
    WebhookSettingsReply,
    WebhookSettingsSet,
)
from softswitch.webhooks.signing import HEADER, verify
from tests.peers.process import wait_until
from tests.peers.webhook_receiver import WebhookReceiver

ONE = {"account": "account_1", "auth": "secret-one"}
TWO = {"account": "account_2", "auth": "secret-two"}
# retries within the test's patience: 100 ms, then doubling up to 1 s
FAST = {"backoff_first_ms": 100, "backoff_max": 1, "timeout_ms": 1000}


@pytest.fixture
def receiver(ports) -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(ports.port())
    yield r
    r.stop()


@pytest.fixture
def server(server_factory):
    return server_factory(webhooks=FAST)


def call(server, method: str, path: str, headers=ONE, **kwargs) -> tuple[int, dict]:
    response = httpx.request(method, server.url + path, headers=headers, timeout=15, **kwargs)
    return response.status_code, response.json()["response"]


def set_url(server, url: str, headers=ONE) -> tuple[int, dict]:
    return call(server, "PUT", "/api/webhooks/settings", headers, json={"status_callback": url})


def click2call(server, headers=ONE) -> str:
    status, body = call(
        server,
        "POST",
        "/api/click2call",
        headers,
        json={"agent_number": "101", "destination_number": "102", "caller_id": "15168148111"},
    )
    assert status == 200, body
    return body["request_id"]


def test_settings_are_set_read_and_the_secret_shown_only_when_made(server, receiver) -> None:
    status, body = call(server, "GET", "/api/webhooks/settings")
    assert status == 200 and body["status_callback"] == "" and body["secret_set"] == "false"
    WebhookSettingsReply.model_validate(body)  # the replies are what /openapi.json says
    status, body = set_url(server, receiver.url("/one"))
    WebhookSettingsSet.model_validate(body)
    assert status == 200 and body["success"] == "true"
    assert body["status_callback"] == receiver.url("/one") and body["secret"].startswith("whsec_")
    first = body["secret"]
    status, body = set_url(server, receiver.url("/other"))
    assert status == 200 and "secret" not in body  # shown once
    WebhookSettingsSet.model_validate(body)
    status, body = call(server, "GET", "/api/webhooks/settings")
    assert body["status_callback"] == receiver.url("/other") and "secret" not in body
    assert body["secret_set"] == "true"
    status, body = call(server, "POST", "/api/webhooks/secret")
    WebhookSecretRotated.model_validate(body)
    assert status == 200 and body["secret"].startswith("whsec_") and body["secret"] != first
    # the other account sees its own (none)
    assert call(server, "GET", "/api/webhooks/settings", TWO)[1]["status_callback"] == ""


def test_bad_input_is_refused_in_the_apis_envelope(server) -> None:
    host, port = server.config.api_host_port
    refused = {
        "ftp://example.com/hook": "only http:// and https://",
        f"http://{host}:{port}/hook": "own API",  # the switch itself
        f"http://localhost:{port}/api/click2call": "own API",
        f"http://127.0.0.9:{port}/": "own API",
        "http://no-such-host.invalid:80/": "",  # another port than ours: accepted
    }
    for url, why in refused.items():
        status, body = set_url(server, url)
        if why:
            assert status == 400 and body["success"] == "false", url
            assert why in body["message"], body
        else:
            assert status == 200
    status, body = call(server, "PUT", "/api/webhooks/settings", json={"status_callback": 5})
    assert status == 400 and body["message"].startswith("status_callback:")
    status, body = call(server, "PUT", "/api/webhooks/settings", json={})
    assert status == 400 and body["message"] == "status_callback: field required"
    status, body = call(server, "GET", "/api/webhooks/deliveries?status=lost")
    assert status == 400 and body["message"].startswith("status:")
    status, body = call(server, "GET", "/api/webhooks/deliveries?record_count=0")
    assert status == 400 and body["message"].startswith("record_count:")
    status, body = call(server, "GET", "/api/webhooks/settings", {"account": "account_1"})
    assert status == 401 and body["success"] == "false"
    status, _ = call(server, "PUT", "/api/webhooks/settings", {**ONE, "auth": "wrong"}, json={})
    assert status == 401


def events_of(receiver: WebhookReceiver, request_id: str, path: str | None = None) -> list[str]:
    return [e["type"] for e in receiver.events(path) if e["request_id"] == request_id]


def test_a_receiver_down_for_a_while_gets_every_event_in_order_when_back(server, receiver) -> None:
    _, body = set_url(server, receiver.url("/hook"))
    secret = body["secret"]
    calls = [click2call(server) for _ in range(3)]

    def recorded_and_retried() -> bool:
        _, page = call(server, "GET", "/api/webhooks/deliveries?status=pending")
        # the oldest is retried; the others wait behind it (an account's order)
        return page["total"] == 6 and len(page["result"][-1]["attempts"]) >= 3

    wait_until(recorded_and_retried, 10, what="six events recorded, the first retried")
    _, page = call(server, "GET", "/api/webhooks/deliveries?status=pending&record_count=2&offset=4")
    assert page["total"] == 6 and len(page["result"]) == 2  # newest first: the oldest two
    Deliveries.model_validate(page)  # pending: next_attempt_at set, attempts with no answer
    assert page["result"][0]["attempts"] == []  # waits behind the oldest
    tried = page["result"][-1]["attempts"]
    assert tried[0]["status_code"] is None and "ConnectError" in tried[0]["error"]
    receiver.start()
    receiver.wait_for(lambda r: len(r.received()) >= 6, 10, "events after the outage")
    for request_id in calls:
        assert events_of(receiver, request_id) == ["call.initiated", "call.completed"]
    ids = [e["id"] for e in receiver.events()]
    assert len(set(ids)) == len(ids) == 6
    for arrival in receiver.received():
        verify(secret, arrival.headers[HEADER.lower()], arrival.body, now=time.time())
    completed = [e for e in receiver.events() if e["type"] == "call.completed"]
    assert completed[0]["data"]["cdr"]["dial_status"] == "CHANUNAVAIL"
    wait_until(
        lambda: call(server, "GET", "/api/webhooks/deliveries?status=delivered")[1]["total"] == 6,
        5,
        what="all marked delivered",
    )
    _, page = call(server, "GET", "/api/webhooks/deliveries")
    assert page["total"] == 6 and {e["status"] for e in page["result"]} == {"delivered"}
    Deliveries.model_validate(page)
    assert page["result"][0]["attempts"][-1]["status_code"] == 204
    newest = page["result"][0]
    assert newest["payload"]["id"] == newest["event_id"] == ids[-1]
    assert newest["payload"]["type"] == newest["type"] == "call.completed"


@pytest.mark.parametrize("mode", ["fail", "hang"])
def test_a_failing_receiver_is_retried_and_another_accounts_events_still_arrive(
    server, receiver, mode: str
) -> None:
    receiver.modes = {"/one": mode}
    receiver.start()
    set_url(server, receiver.url("/one"), ONE)
    set_url(server, receiver.url("/two"), TWO)
    stuck = click2call(server, ONE)
    receiver.wait_for(lambda r: r.received("/one"), 5, "the first try at account 1")
    flowing = [click2call(server, TWO) for _ in range(3)]
    receiver.wait_for(lambda r: len(r.received("/two")) == 6, 5, "account 2's events")
    for request_id in flowing:
        assert events_of(receiver, request_id, "/two") == ["call.initiated", "call.completed"]
    if mode == "fail":
        receiver.wait_for(lambda r: len(r.received("/one")) >= 3, 5, "retries")

    def tried() -> dict | None:
        _, page = call(server, "GET", "/api/webhooks/deliveries?status=pending", ONE)
        oldest = page["result"][-1]
        return oldest if oldest["attempts"] else None

    oldest = wait_until(tried, 10, what="a recorded try")  # a hang: after the 1 s timeout
    assert oldest["type"] == "call.initiated" and oldest["attempts"]
    if mode == "fail":
        assert {a["status_code"] for a in oldest["attempts"]} == {500}
    else:
        assert oldest["attempts"][0]["error"] == "no answer within 1 s"
    # only account 1's first event has been tried: its order holds
    assert {e["type"] for e in receiver.events("/one")} == {"call.initiated"}
    receiver.modes = {}
    receiver.wait_for(
        lambda r: "call.completed" in events_of(r, stuck, "/one"), 10, "account 1 after repair"
    )
    seen = events_of(receiver, stuck, "/one")
    assert seen.index("call.completed") > seen.index("call.initiated")
