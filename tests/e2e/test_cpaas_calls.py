"""The CPaaS API end to end: HTTP requests, kamailio as the carrier, baresip phones.

The agent is extension 101 (registered to us); customers are baresip phones
registered behind kamailio, reached through the trunk. What the spec promises is
checked where a client sees it: HTTP responses, CDRs, recordings, the audio itself.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.peers.audio import dominant_frequency, read_wav
from tests.peers.baresip import BaresipAccount
from tests.peers.kamailio import Kamailio, KamailioConfig, customer_trunk
from tests.peers.process import wait_until

pytestmark = pytest.mark.peers

CUSTOMER = "5551000"
OTHER = "5552000"
HEADERS = {"account": "account_1", "auth": "secret-one"}


@pytest.fixture
def carrier(tmp_path, ports):
    kam = Kamailio(
        tmp_path / "kamailio",
        KamailioConfig(
            port=ports.port(), users={"trunkuser": "trunkpass", CUSTOMER: "c1pw", OTHER: "c2pw"}
        ),
    )
    kam.start()
    yield kam
    kam.stop()


@pytest.fixture
def server(carrier, server_factory):
    harness = server_factory(
        extensions={"101": "pw101", "102": "pw102", "103": "pw103"},
        trunks=[customer_trunk(carrier)],
    )
    carrier.wait_registered("trunkuser")
    return harness


def extension(phone_factory, server, number: str, tone_hz: float, **kwargs):
    port = server.config.sip_host_port[1]
    p = phone_factory(
        BaresipAccount(number, f"pw{number}", registrar=f"127.0.0.1:{port}", **kwargs),
        tone_hz=tone_hz,
    )
    p.wait_registered()
    return p


def customer(phone_factory, carrier, number: str, password: str, tone_hz: float, **kwargs):
    p = phone_factory(
        BaresipAccount(number, password, registrar=carrier.address, **kwargs), tone_hz=tone_hz
    )
    p.wait_registered()
    return p


def api(server, method: str, path: str, body: dict | None = None, headers=HEADERS) -> dict:
    response = httpx.request(method, server.url + path, json=body, headers=headers, timeout=30)
    data = response.json()
    data["_status"] = response.status_code
    return data


def cdr_of(server, request_id: str, timeout: float = 20.0) -> dict:
    def fetch():
        data = api(server, "POST", "/api/get_cdr_by_request_id", {"request_id": request_id})
        return data["response"].get("result") and data["response"]["result"][0]

    return wait_until(fetch, timeout, what=f"CDR of {request_id}")


def test_click2call_through_the_carrier_with_recordings_and_cdr(server, carrier, phone_factory):
    agent = extension(phone_factory, server, "101", 440.0)
    far = customer(phone_factory, carrier, CUSTOMER, "c1pw", 1000.0)
    data = api(
        server,
        "POST",
        "/api/click2call",
        {
            "agent_number": "101",
            "caller_id": "15168148111",
            "destination_number": CUSTOMER,
            "recording_option": "both",
            "transcript": "off",
        },
    )
    assert data["response"]["success"] == "true", data
    request_id = data["response"]["request_id"]
    first = agent.wait_call_established()
    assert far.wait_call_established().at > first.at
    stats = api(server, "GET", "/api/get_live_call_statistics")
    assert stats["response"]["result"]["live_calls_c2c"] == 1
    time.sleep(3)
    far.hangup()
    agent.wait_call_closed()
    cdr = cdr_of(server, request_id)
    assert cdr["dial_status"] == "ANSWER" and cdr["call_status"] == "ANSWERED"
    assert cdr["agent_number"] == "101" and cdr["customer_number"] == CUSTOMER
    assert cdr["destination_context"] == "click2call"
    assert cdr["answer"].endswith(" GMT") and 2.5 < float(cdr["billsec"]) < 6
    name = cdr["recording_name"]
    assert name
    # the audio of each side is where it belongs: the far end's tone crossed the trunk
    for suffix, hz in (("-agent.wav", 440), ("-customer.wav", 1000)):
        leg = server.config.media.recordings_dir + "/account_1/" + name.replace(".wav", suffix)
        assert abs(dominant_frequency(leg) - hz) < 15
    # and the recording is downloadable with the account's credentials only
    path = f"/api/recordings/{name}"
    ok = httpx.get(server.url + path, headers=HEADERS, timeout=10)
    assert ok.status_code == 200 and ok.content[:4] == b"RIFF"
    other = httpx.get(
        server.url + path, headers={"account": "account_2", "auth": "secret-two"}, timeout=10
    )
    assert other.status_code == 404


def test_click2call_to_a_busy_customer(server, carrier, phone_factory):
    agent = extension(phone_factory, server, "101", 440.0)
    far = customer(phone_factory, carrier, CUSTOMER, "c1pw", 1000.0, answermode="manual")
    data = api(
        server,
        "POST",
        "/api/click2call",
        {"agent_number": "101", "caller_id": "15168148111", "destination_number": CUSTOMER},
    )
    request_id = data["response"]["request_id"]
    agent.wait_call_established()
    far.wait_incoming()
    far.command("/hangup")
    agent.wait_call_closed()
    cdr = cdr_of(server, request_id)
    assert cdr["dial_status"] == "BUSY"


def test_otp_call_is_understood_at_the_far_end(server, carrier, phone_factory):
    from media.asr import transcriber

    far = customer(phone_factory, carrier, CUSTOMER, "c1pw", 1000.0)
    template = api(
        server, "POST", "/api/announce_templates", {"text": "Your one time password is {otp}"}
    )
    assert template["response"]["success"] == "true", template
    template_id = template["response"]["announce_template_id"]
    data = api(
        server,
        "POST",
        "/api/outbound_call",
        {
            "customer_number": CUSTOMER,
            "otp": "4719",
            "announce_template_id": template_id,
            "repeat": "1",
            "caller_id": "15168148111",
            "voice": "Matthew",
            "rate": "slow",
        },
    )
    assert data["response"]["success"] == "true", data
    far.wait_call_established()
    far.wait_call_closed(timeout=40)
    samples, rate = read_wav(far.last_recording())
    digits = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    heard = transcriber("pocketsphinx").transcribe(
        samples, rate, words=digits + ["your", "one", "time", "password", "is"]
    )
    spoken = [w for w in heard.split() if w in digits]
    assert "four seven one nine" in " ".join(spoken), heard
    cdr = cdr_of(server, data["response"]["request_id"])
    assert cdr["dial_status"] == "ANSWER" and cdr["destination_context"] == "local_call"


def live_channel(server, prefix: str) -> str:
    rows = api(server, "GET", "/api/live_calls")["response"]["result"]
    return next(r["channel"] for r in rows if r["channel"].startswith(prefix))


def tones(path, window: float = 0.5) -> list[int]:
    """The dominant frequency of each loud half second, consecutive repeats merged."""
    samples, rate = read_wav(path)
    step = int(rate * window)
    found: list[int] = []
    for start in range(0, len(samples) - step, step):
        chunk = samples[start : start + step]
        if chunk.astype(float).std() < 300:
            continue
        hz = int(round(dominant_frequency(chunk, rate) / 10) * 10)
        if not found or found[-1] != hz:
            found.append(hz)
    return found


def in_order(seen: list[int], wanted: list[int]) -> bool:
    position = 0
    for hz in seen:
        if position < len(wanted) and abs(hz - wanted[position]) <= 20:
            position += 1
    return position == len(wanted)


def test_blind_and_attended_transfer_through_the_api(server, carrier, phone_factory):
    agent = extension(phone_factory, server, "101", 350.0)
    second = extension(phone_factory, server, "102", 700.0)
    third = extension(phone_factory, server, "103", 1300.0)
    far = customer(phone_factory, carrier, CUSTOMER, "c1pw", 1000.0)
    api(
        server,
        "POST",
        "/api/click2call",
        {"agent_number": "101", "caller_id": "15168148111", "destination_number": CUSTOMER},
    )
    agent.wait_call_established()
    far.wait_call_established()
    time.sleep(1.5)
    # blind: the agent hands the customer to extension 102 and leaves
    data = api(
        server,
        "POST",
        "/api/modify_call",
        {"channel": live_channel(server, "SIP/101-"), "modify_type": "0", "transfer_to": "102"},
    )
    assert data["response"] == {"message": "blind transferred successfully", "success": "true"}
    agent.wait_call_closed()
    second.wait_call_established()
    time.sleep(2.5)
    # attended: 102 consults 103 while the customer waits, then leaves them together
    data = api(
        server,
        "POST",
        "/api/modify_call",
        {"channel": live_channel(server, "SIP/carrier-"), "modify_type": "1", "transfer_to": "103"},
    )
    assert data["response"]["success"] == "true", data
    third.wait_call_established()
    time.sleep(1.5)
    second.hangup()
    time.sleep(2.5)
    far.hangup()
    third.wait_call_closed()
    far.wait_call_closed()
    # what the customer heard: the agent, then 102, then 103
    assert in_order(tones(far.last_recording()), [350, 700, 1300]), tones(far.last_recording())
    # 102 heard the customer, then 103 during the consultation
    assert in_order(tones(second.last_recording()), [1000, 1300])


def test_callback_fires_at_its_time(server, carrier, phone_factory):
    agent = extension(phone_factory, server, "101", 440.0)
    far = customer(phone_factory, carrier, CUSTOMER, "c1pw", 1000.0)
    zone = "Asia/Kolkata"
    at = datetime.now(ZoneInfo(zone)) + timedelta(seconds=6)
    data = api(
        server,
        "POST",
        "/api/callback",
        {
            "agent_number": "101",
            "caller_id": "15168148111",
            "destination_number": CUSTOMER,
            "recording_option": "off",
            "time_zone": zone,
            "scheduled_at": at.strftime("%Y-%m-%d %H:%M:%S"),
        },
    )
    assert data["response"]["success"] == "true", data
    established = agent.wait_call_established(timeout=20)
    wall = time.time() - (time.monotonic() - established.at)
    assert wall >= at.timestamp() - 1.0
    far.wait_call_established()
    far.hangup()
    agent.wait_call_closed()
