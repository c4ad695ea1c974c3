"""The CPaaS API with real phones: two baresip extensions registered to a real switch,
the API app driven in the switch's own loop. (tests/e2e/test_cpaas_calls.py adds the
carrier; this one needs no kamailio.)"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from starlette.applications import Starlette

import api.cpaas
from api.context import AppContext
from media.tts import Tts
from softswitch.accounts import provision_accounts
from softswitch.callbacks import CallbackScheduler
from softswitch.calls import CallService
from softswitch.store.accounts import AccountStore
from softswitch.store.callbacks import CallbackStore
from tests.api.conftest import ACCOUNT_1, ACCOUNT_2
from tests.peers.audio import dominant_frequency
from tests.peers.baresip import BaresipAccount
from tests.peers.process import wait_until

pytestmark = pytest.mark.peers


class Api:
    """The CPaaS app and a callback scheduler in the harness's loop; calls from the test."""

    def __init__(self, harness: Any) -> None:
        self.harness = harness
        switch = harness.switch
        config = switch.config

        async def build() -> tuple[httpx.AsyncClient, CallService, CallbackScheduler]:
            provision_accounts(AccountStore(switch.store.db), config.accounts, lambda s: None)
            tts = Tts(Path(config.media.prompts_dir), allow_online=False)
            calls = CallService.configured(switch, tts)
            ctx = AppContext(switch=switch, calls=calls, tts=tts)
            scheduler = CallbackScheduler(
                CallbackStore(switch.store.db), calls.click2call, poll=0.2
            )
            await scheduler.start()
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=Starlette(routes=api.cpaas.routes(ctx))),
                base_url="http://cpaas",
            )
            return client, calls, scheduler

        self.client, self.calls, self.scheduler = harness.run(build())

    def __call__(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] = ACCOUNT_1
    ) -> tuple[int, dict]:
        async def go() -> httpx.Response:
            return await self.client.request(method, path, json=body, headers=headers)

        response = self.harness.run(go())
        return response.status_code, response.json()

    def get(self, path: str, headers: dict[str, str] = ACCOUNT_1) -> httpx.Response:
        async def go() -> httpx.Response:
            return await self.client.get(path, headers=headers)

        return self.harness.run(go())

    def close(self) -> None:
        async def down() -> None:
            await self.scheduler.stop()
            await self.calls.stop(grace=2)
            await self.client.aclose()

        self.harness.run(down())


@pytest.fixture
def setup(switch_factory, phone_factory):
    harness = switch_factory(accounts={"account_1": "secret-one", "account_2": "secret-two"})
    cpaas = Api(harness)
    port = harness.config.sip_host_port[1]

    def phone(number: str, hz: float):
        p = phone_factory(
            BaresipAccount(number, f"pw{number}", registrar=f"127.0.0.1:{port}"), tone_hz=hz
        )
        p.wait_registered()
        return p

    yield cpaas, phone, harness
    cpaas.close()


def cdr_of(cpaas: Api, request_id: str) -> dict:
    def fetch() -> dict | None:
        status, body = cpaas("POST", "/api/get_cdr_by_request_id", {"request_id": request_id})
        return body["response"]["result"][0] if status == 200 else None

    return wait_until(fetch, 20, what=f"CDR of {request_id}")


def test_click2call_between_extensions(setup) -> None:
    cpaas, phone, harness = setup
    agent, customer = phone("101", 440.0), phone("102", 1000.0)
    status, body = cpaas(
        "POST",
        "/api/click2call",
        {
            "agent_number": "101",
            "caller_id": "15168148111",
            "destination_number": "102",
            "recording_option": "both",
            "transcript": "off",
        },
    )
    assert status == 200 and body["response"]["success"] == "true", body
    request_id = body["response"]["request_id"]
    first = agent.wait_call_established()
    assert customer.wait_call_established().at > first.at  # the agent is rung first
    status, body = cpaas("GET", "/api/get_live_call_statistics")
    assert body["response"]["result"]["live_calls_c2c"] == 1
    status, body = cpaas("GET", "/api/live_calls")
    channels = {row["channel"]: row for row in body["response"]["result"]}
    assert any(name.startswith("SIP/101-") for name in channels), channels
    assert all(row["request_id"] == request_id for row in channels.values())
    assert cpaas("GET", "/api/live_calls", headers=ACCOUNT_2)[1]["response"]["result"] == []
    time.sleep(2.5)
    customer.hangup()
    agent.wait_call_closed()
    cdr = cdr_of(cpaas, request_id)
    assert cdr["dial_status"] == "ANSWER" and cdr["call_status"] == "ANSWERED"
    assert (cdr["agent_number"], cdr["customer_number"]) == ("101", "102")
    assert 2.0 < cdr["billsec"] < 6.0 and cdr["answer"].endswith(" GMT")
    name = cdr["recording_name"]
    response = cpaas.get(f"/api/recordings/{name}")
    assert response.status_code == 200 and response.content[:4] == b"RIFF"
    assert cpaas.get(f"/api/recordings/{name}", headers=ACCOUNT_2).status_code == 404
    legs = Path(harness.config.media.recordings_dir) / "account_1"
    for suffix, hz in (("-agent.wav", 440), ("-customer.wav", 1000)):
        # each leg's own recording holds that party's tone
        assert abs(dominant_frequency(legs / name.replace(".wav", suffix)) - hz) < 15
    status, body = cpaas("GET", "/api/get_cdr_statistics")
    assert body["response"]["result"]["answer_calls"] == [1]


def test_hangup_through_modify_call(setup) -> None:
    cpaas, phone, _ = setup
    agent, customer = phone("101", 440.0), phone("102", 1000.0)
    _, body = cpaas(
        "POST",
        "/api/click2call",
        {"agent_number": "101", "caller_id": "15168148111", "destination_number": "102"},
    )
    agent.wait_call_established()
    customer.wait_call_established()
    _, live = cpaas("GET", "/api/live_calls")
    channel = next(
        r["channel"] for r in live["response"]["result"] if r["channel"].startswith("SIP/102-")
    )
    status, answer = cpaas(
        "POST", "/api/modify_call", {"channel": channel, "modify_type": "2"}, headers=ACCOUNT_2
    )
    assert status == 404  # not this account's call
    status, answer = cpaas(
        "POST", "/api/modify_call", {"channel": " " + channel, "modify_type": "2"}
    )
    assert status == 200 and answer["response"]["success"] == "true", answer
    customer.wait_call_closed()
    agent.wait_call_closed()


def test_callback_rings_the_agent_at_its_time(setup) -> None:
    cpaas, phone, _ = setup
    agent, customer = phone("101", 440.0), phone("102", 1000.0)
    zone = "America/New_York"
    at = (datetime.now(ZoneInfo(zone)) + timedelta(seconds=4)).replace(microsecond=0)
    status, body = cpaas(
        "POST",
        "/api/callback",
        {
            "agent_number": "101",
            "caller_id": "15168148111",
            "destination_number": "102",
            "recording_option": "off",
            "time_zone": zone,
            "scheduled_at": at.strftime("%Y-%m-%d %H:%M:%S"),
        },
    )
    assert status == 200, body
    request_id = body["response"]["request_id"]
    established = agent.wait_call_established(timeout=20)
    wall = time.time() - (time.monotonic() - established.at)
    assert wall >= at.timestamp()  # not early
    customer.wait_call_established()
    customer.hangup()
    agent.wait_call_closed()
    _, listing = cpaas("GET", "/api/callback")
    assert [(c["request_id"], c["status"]) for c in listing["response"]["result"]] == [
        (request_id, "done")
    ]
    assert cdr_of(cpaas, request_id)["dial_status"] == "ANSWER"


def test_otp_call_is_understood_by_the_phone(setup) -> None:
    from media.asr import transcriber
    from tests.peers.audio import read_wav

    cpaas, phone, _ = setup
    customer = phone("102", 1000.0)
    _, body = cpaas("POST", "/api/announce_templates", {"text": "Your one time password is {otp}"})
    template_id = body["response"]["announce_template_id"]
    status, body = cpaas(
        "POST",
        "/api/outbound_call",
        {
            "customer_number": "102",
            "otp": "5283",
            "announce_template_id": template_id,
            "repeat": "2",
            "caller_id": "15168148111",
            "voice": "Matthew",
            "rate": "slow",
        },
    )
    assert status == 200, body
    customer.wait_call_established()
    customer.wait_call_closed(timeout=60)  # the flow hangs up after two announcements
    samples, rate = read_wav(customer.last_recording())
    digits = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    heard = transcriber("pocketsphinx").transcribe(
        samples, rate, words=digits + ["your", "time", "password", "is"]
    )
    spoken = " ".join(w for w in heard.split() if w in digits)
    assert spoken.count("five two eight three") >= 1, heard
    cdr = cdr_of(cpaas, body["response"]["request_id"])
    assert (cdr["destination_context"], cdr["dial_status"]) == ("local_call", "ANSWER")
    assert cdr["customer_number"] == "102" and cdr["call_direction"] == "outbound-api"
