"""Answering-machine detection on real calls: customers are baresip phones behind kamailio
that answer by playing a greeting of tests/peers/greetings (a person's "Yes, speaking",
machines' long greetings with and without the beep), over G.711 (PCMU and PCMA).

What a client sees is checked: the CDR's answered_by, the JAICP attempt report's
answeredBy and a machine's retry, and what the phone heard: nothing from a machine the
call hung up on, the announcement only after the greeting (and its beep) for a message
left in the mailbox.
"""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from media.pcm import FRAME, RATE
from tests.e2e.campaigns import open_now
from tests.peers import greetings
from tests.peers.audio import read_wav
from tests.peers.baresip import BaresipAccount
from tests.peers.kamailio import Kamailio, KamailioConfig, customer_trunk
from tests.peers.process import wait_until

pytestmark = pytest.mark.peers

HEADERS = {"account": "account_1", "auth": "secret-one"}
HUMAN = "5551001"
MACHINE_BEEP = "5551002"
MACHINE_QUIET = "5551003"  # a greeting without a beep
MACHINE_MESSAGE = "5551004"  # a greeting with a beep, for a message left after it
PASSWORDS = {HUMAN: "pw1", MACHINE_BEEP: "pw2", MACHINE_QUIET: "pw3", MACHINE_MESSAGE: "pw4"}


@pytest.fixture(scope="module")
def answers(tmp_path_factory) -> dict[str, greetings.Greeting]:
    """Who answers each number: corpus entries, with a tail of silence longer than any
    call here (baresip hangs up when its file ends)."""
    reason = greetings.available()
    if reason is not None:
        pytest.skip(reason)
    items = greetings.corpus(tail=40.0)
    humans = [g for g in items if not g.machine]
    beeps = [g for g in items if g.beep_at is not None]
    quiet = [g for g in items if g.machine and g.beep_at is None]
    return {
        HUMAN: humans[1],
        MACHINE_BEEP: beeps[0],
        MACHINE_QUIET: quiet[0],
        MACHINE_MESSAGE: beeps[2],
    }


@pytest.fixture
def carrier(tmp_path, ports):
    users = {"trunkuser": "trunkpass", **PASSWORDS}
    kam = Kamailio(tmp_path / "kamailio", KamailioConfig(port=ports.port(), users=users))
    kam.start()
    yield kam
    kam.stop()


@pytest.fixture
def server(carrier, server_factory):
    harness = server_factory(trunks=[customer_trunk(carrier)])
    carrier.wait_registered("trunkuser")
    return harness


def customers(tmp_path, carrier, phone_factory, answers, numbers):
    phones = {}
    for i, number in enumerate(numbers):
        wav = greetings.write(answers[number], tmp_path / "greetings")
        codec = "PCMA" if i % 2 else "PCMU"  # G.711 both ways, both laws
        account = BaresipAccount(
            number, PASSWORDS[number], registrar=carrier.address, audio_codecs=codec
        )
        phones[number] = phone_factory(account, wav=wav)
        phones[number].wait_registered()
    return phones


def api(server, path: str, body: dict | None = None, method: str = "POST") -> dict:
    response = httpx.request(method, server.url + path, json=body, headers=HEADERS, timeout=30)
    return response.json()


def cdr_of(server, request_id: str) -> dict:
    def fetch():
        data = api(server, "/api/get_cdr_by_request_id", {"request_id": request_id})
        return data["response"].get("result") and data["response"]["result"][0]

    return wait_until(fetch, 40, what=f"CDR of {request_id}")


def first_sound(path) -> float | None:
    """Seconds into a recording of the first 20 ms frame louder than a line's noise."""
    samples, rate = read_wav(path)
    assert rate == RATE
    frames = samples[: len(samples) // FRAME * FRAME].reshape(-1, FRAME).astype(np.float64)
    loud = np.flatnonzero(np.abs(frames).mean(axis=1) > 400)
    return None if len(loud) == 0 else float(loud[0] * FRAME / RATE)


def test_otp_calls_detect_and_leave_messages(
    tmp_path, server, carrier, phone_factory, answers
) -> None:
    phones = customers(tmp_path, carrier, phone_factory, answers, list(PASSWORDS))
    template = api(server, "/api/announce_templates", {"text": "Your code is {otp}"})
    template_id = template["response"]["announce_template_id"]
    modes = {HUMAN: "detect", MACHINE_BEEP: "detect", MACHINE_QUIET: "leave_message"}
    modes[MACHINE_MESSAGE] = "LEAVE_MESSAGE"  # any case, as the other choice fields
    requests = {}
    for number, amd in modes.items():
        body = {
            "customer_number": number,
            "otp": "4719",
            "announce_template_id": template_id,
            "caller_id": "15168148111",
            "amd": amd,
        }
        data = api(server, "/api/outbound_call", body)
        assert data["response"]["success"] == "true", data
        requests[number] = data["response"]["request_id"]
    for phone in phones.values():
        phone.wait_call_established(timeout=30)
    for phone in phones.values():
        phone.wait_call_closed(timeout=60)
    cdrs = {number: cdr_of(server, request_id) for number, request_id in requests.items()}
    said = {number: cdr["answered_by"] for number, cdr in cdrs.items()}
    assert said == {
        HUMAN: "human",
        MACHINE_BEEP: "machine_start",
        MACHINE_QUIET: "machine_end_silence",
        MACHINE_MESSAGE: "machine_end_beep",
    }
    assert all(cdr["dial_status"] == "ANSWER" for cdr in cdrs.values())
    heard = {number: first_sound(phone.last_recording()) for number, phone in phones.items()}
    human = answers[HUMAN]
    # the person heard the announcement once they had said their piece (and paused)
    said_until = len(human.samples) / RATE - 40.0
    assert heard[HUMAN] is not None and said_until + 0.5 < heard[HUMAN] < said_until + 2.0, heard
    # the machine the call hung up on heard nothing, within app_amd's 5 s
    assert heard[MACHINE_BEEP] is None, heard
    assert float(cdrs[MACHINE_BEEP]["billsec"]) < 6.0
    # the messages start after the greeting: after its beep, or once it fell silent
    message = answers[MACHINE_MESSAGE]
    assert message.beep_end is not None
    assert message.beep_end - 0.1 < heard[MACHINE_MESSAGE] < message.beep_end + 1.0, heard
    quiet = answers[MACHINE_QUIET]
    spoken_until = (len(quiet.samples) / RATE) - 40.0
    assert spoken_until + 1.0 < heard[MACHINE_QUIET] < spoken_until + 2.5, heard


def test_campaign_retries_machines_and_reports_who_answered(
    tmp_path, server, carrier, phone_factory, answers
) -> None:
    phones = customers(tmp_path, carrier, phone_factory, answers, [HUMAN, MACHINE_BEEP])
    list_id = api(server, "/api/create_campaign_list", {"list_name": "amd"})["response"]["list_id"]
    contacts = [{"contact_name": f"c{n[-1]}", "contact_number": n} for n in (HUMAN, MACHINE_BEEP)]
    added = api(server, "/api/add_contact_to_list", {"list_id": list_id, "contacts": contacts})
    assert added["response"]["success"] == "true", added
    created = api(
        server,
        "/api/create_campaign",
        open_now(
            list_id,
            "amd",
            "0",
            dynamic_announcement="1",
            announcement_text="Your parcel arrives tomorrow.",
            max_retries="1",
            retry_time="0",
            retry_on_statuses="NOANSWER,MACHINE",
            calls_per_minute="120",
            amd="detect",
        ),
    )
    assert created["response"]["success"] == "true", created
    campaign_id, token = created["response"]["campaign_id"], created["response"]["token"]

    def attempts():
        rows = httpx.post(
            f"{server.url}/api/calls/campaign/{token}/callAttempt/getReport",
            json={"phones": [HUMAN, MACHINE_BEEP]},
            timeout=10,
        ).json()
        done = [r for r in rows if r["jobStatus"] not in ("planned", "inProcess", "onRetry")]
        return len(rows) == 3 and len(done) == 3 and rows

    rows = wait_until(attempts, 60, what="both jobs resolved, the machine dialed twice")
    by_phone: dict[str, list[dict]] = {}
    for row in sorted(rows, key=lambda r: r["attemptNumber"]):
        by_phone.setdefault(row["phone"], []).append(row)
    assert [r["answeredBy"] for r in by_phone[HUMAN]] == ["human"]
    assert [r["answeredBy"] for r in by_phone[MACHINE_BEEP]] == ["machine_start"] * 2
    assert {r["jobStatus"] for r in rows} == {"longCallWithNoResult"}
    cdrs = api(server, "/api/get_cdr_by_campaign_id", {"campaign_id": campaign_id})
    said = sorted((c["dialed_number"], c["answered_by"]) for c in cdrs["response"]["result"])
    assert said == [
        (HUMAN, "human"),
        (MACHINE_BEEP, "machine_start"),
        (MACHINE_BEEP, "machine_start"),
    ]
    assert all(phone.recordings() for phone in phones.values())
