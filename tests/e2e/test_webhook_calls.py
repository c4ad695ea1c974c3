"""Webhooks of real calls: a click2call between two baresip phones, its events at a real
receiver (uvicorn) in order and signed; a receiver down for a minute; a SIGKILL of the
`softswitch serve` process between recording events and delivering them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from softswitch.webhooks.signing import HEADER, verify
from tests.peers.baresip import BaresipAccount
from tests.peers.process import wait_until
from tests.peers.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.peers

ONE = {"account": "account_1", "auth": "secret-one"}
FAST = {"backoff_first_ms": 100, "backoff_max": 1, "timeout_ms": 1000}


@pytest.fixture
def receiver(ports) -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(ports.port())
    yield r
    r.stop()


def api(url: str, method: str, path: str, **kwargs) -> dict:
    response = httpx.request(method, url + path, headers=ONE, timeout=15, **kwargs)
    return response.json()["response"]


def phone(phone_factory, harness, number: str, tone_hz: float):
    port = harness.config.sip_host_port[1]
    p = phone_factory(
        BaresipAccount(number, f"pw{number}", registrar=f"127.0.0.1:{port}"), tone_hz=tone_hz
    )
    p.wait_registered()
    return p


def test_a_real_calls_events_arrive_in_order_and_signed(
    server_factory, phone_factory, receiver
) -> None:
    receiver.start()
    server = server_factory(webhooks=FAST)
    secret = api(
        server.url, "PUT", "/api/webhooks/settings", json={"status_callback": receiver.url()}
    )["secret"]
    agent = phone(phone_factory, server, "101", 440.0)
    customer = phone(phone_factory, server, "102", 1000.0)
    request_id = api(
        server.url,
        "POST",
        "/api/click2call",
        json={
            "agent_number": "101",
            "destination_number": "102",
            "caller_id": "15168148111",
            "recording_option": "both",
        },
    )["request_id"]
    agent.wait_call_established()
    customer.wait_call_established()
    receiver.wait_for(
        lambda r: [e for e in r.events() if e["type"] == "call.answered"][1:], 10, "both answered"
    )
    customer.hangup()
    agent.wait_call_closed()
    receiver.wait_for(
        lambda r: "recording.ready" in [e["type"] for e in r.events()], 15, "the recording"
    )
    events = [e for e in receiver.events() if e["request_id"] == request_id]
    legs = [(e["type"], e["data"].get("number")) for e in events]
    assert legs == [
        ("call.initiated", None),
        ("call.ringing", "101"),
        ("call.answered", "101"),  # the agent first, then the destination is dialed
        ("call.ringing", "102"),
        ("call.answered", "102"),
        ("call.completed", None),
        ("recording.ready", None),
    ], legs
    assert events[0]["data"]["call_type"] == "c2c"
    assert events[0]["data"]["agent_number"] == "101"
    cdr = events[5]["data"]["cdr"]
    assert cdr["dial_status"] == "ANSWER" and cdr["request_id"] == request_id
    assert cdr["billsec"] > 0 and cdr["recording_name"] == events[6]["data"]["recording_name"]
    stamps = [e["created_at"] for e in events]
    assert stamps == sorted(stamps) and len({e["id"] for e in events}) == len(events)
    for arrival in receiver.received():
        verify(secret, arrival.headers[HEADER.lower()], arrival.body, now=time.time())
    delivered = api(server.url, "GET", "/api/webhooks/deliveries?status=delivered")
    assert delivered["total"] == len(receiver.received())


def test_a_message_left_in_voicemail_is_told(server_factory, phone_factory, receiver) -> None:
    receiver.start()
    server = server_factory(
        webhooks=FAST,
        extension_options={
            "102": {"voicemail": True, "greeting": "Leave a message.", "account": "account_1"}
        },
    )
    api(server.url, "PUT", "/api/webhooks/settings", json={"status_callback": receiver.url()})
    caller = phone(phone_factory, server, "101", 700.0)
    caller.dial(f"sip:102@127.0.0.1:{server.config.sip_host_port[1]}")  # 102: not registered
    caller.wait_call_established(timeout=15)
    time.sleep(2.5 + 2.5)  # greeting (~1.5 s), beep, then the message
    caller.hangup()
    caller.wait_call_closed()
    [event] = receiver.wait_for(
        lambda r: [e for e in r.events() if e["type"] == "voicemail.left"], 10, "voicemail.left"
    )
    data = event["data"]
    assert data["extension"] == "102" and data["caller"] == "101"
    assert 1.0 < data["duration"] < 6.0 and data["message_id"] >= 1
    assert event["account_id"] == "account_1"


def click2call_unregistered(url: str) -> str:
    """A call that is initiated and completed at once: its agent is not registered."""
    return api(
        url,
        "POST",
        "/api/click2call",
        json={"agent_number": "101", "destination_number": "102", "caller_id": "555"},
    )["request_id"]


@pytest.mark.slow
def test_a_receiver_down_for_a_minute_gets_everything_after(server_factory, receiver) -> None:
    # retries start at 5 s (the default) and double, here up to 30 s: tries at 0, 5, 15,
    # 35 s are refused, the one at 65 s finds the receiver back (up at 60 s)
    server = server_factory(webhooks={"backoff_first_ms": 5000, "backoff_max": 30})
    api(server.url, "PUT", "/api/webhooks/settings", json={"status_callback": receiver.url()})
    down = time.monotonic()
    calls = []
    while time.monotonic() - down < 60:
        calls.append(click2call_unregistered(server.url))
        time.sleep(10)
    receiver.start()
    receiver.wait_for(lambda r: len(r.received()) >= 2 * len(calls), 45, "the backlog")
    for request_id in calls:
        types = [e["type"] for e in receiver.events() if e["request_id"] == request_id]
        assert types == ["call.initiated", "call.completed"]


def write_config(tmp_path: Path, ports, rtp_ports, api_port: int) -> Path:
    path = tmp_path / "softswitch.toml"
    rtp = rtp_ports.block(100)
    path.write_text(f'''
[sip]
listen = "127.0.0.1:{ports.port()}"
[rtp]
address = "127.0.0.1"
ports = "{rtp}-{rtp + 99}"
[api]
listen = "127.0.0.1:{api_port}"
[store]
path = "{tmp_path / "db.sqlite"}"
[webhooks]
backoff_first_ms = 100
backoff_max = 1
[[extensions]]
number = "101"
password = "pw101"
[[extensions]]
number = "102"
password = "pw102"
[[accounts]]
id = "account_1"
auth = "secret-one"
''')
    return path


def serve(config: Path, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "softswitchd", "serve", "--config", str(config)],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def up(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_sigkill_between_recording_and_delivering_loses_no_event(
    tmp_path, ports, rtp_ports, receiver
) -> None:
    api_port = ports.port()
    url = f"http://127.0.0.1:{api_port}"
    config = write_config(tmp_path, ports, rtp_ports, api_port)
    first = serve(config, tmp_path)
    try:
        wait_until(lambda: up(url), 20, what="the switch up")
        # the receiver is not listening yet: events are recorded, not delivered
        api(url, "PUT", "/api/webhooks/settings", json={"status_callback": receiver.url()})
        calls = [click2call_unregistered(url) for _ in range(3)]
        pending = wait_until(
            lambda: (
                (p := api(url, "GET", "/api/webhooks/deliveries?status=pending"))["total"] == 6
                and p
            ),
            10,
            what="six events in the outbox",
        )
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    recorded = {e["event_id"] for e in pending["result"]}
    receiver.start()
    second = serve(config, tmp_path)
    try:
        receiver.wait_for(lambda r: len(r.received()) >= 6, 20, "the events after a restart")
        assert {e["id"] for e in receiver.events()} == recorded
        for request_id in calls:
            types = [e["type"] for e in receiver.events() if e["request_id"] == request_id]
            assert types == ["call.initiated", "call.completed"]
        wait_until(
            lambda: api(url, "GET", "/api/webhooks/deliveries?status=delivered")["total"] == 6,
            10,
            what="marked delivered",
        )
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(20)
