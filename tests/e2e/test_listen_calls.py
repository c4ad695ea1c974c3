"""Voice-bot survey end to end: a campaign calls real phones (baresip behind kamailio)
whose callers answer by speaking (flite); each answer takes its branch, silence takes
no_input, music and babble take no choice; the JAICP report and the CPaaS campaign
CDRs show the answers, and usedAsrSeconds counts what the recognizer heard."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.e2e.campaigns import open_now
from tests.peers.audio import silence, spoken, write_wav
from tests.peers.baresip import BaresipAccount
from tests.peers.kamailio import Kamailio, KamailioConfig, customer_trunk
from tests.peers.process import wait_until

pytestmark = pytest.mark.peers

HEADERS = {"account": "account_1", "auth": "secret-one"}
# phone number -> (what its caller says, the call's result)
CALLERS = {
    "5552001": ("yes", "yes"),
    "5552002": ("no thanks", "no"),
    "5552003": ("talk to an agent", "agent"),
    "5552004": ("four two seven", "code 427"),
    "5552005": ("", "no input"),
    "5552006": ("<music>", "no match"),
    "5552007": ("<babble>", "no match"),
}


def music(seconds: float) -> np.ndarray:
    """Plucked three-note chords, four a second: loud and tonal, no words."""
    rng = np.random.default_rng(7)
    t = np.arange(2000) / 8000
    notes = [220, 247, 262, 294, 330, 349, 392, 440, 494, 523]
    chords = [
        sum(np.sin(2 * np.pi * f * t) * np.exp(-3 * t) for f in rng.choice(notes, 3))
        for _ in range(int(seconds * 4))
    ]
    x = np.concatenate(chords)
    return (x / np.abs(x).max() * 8000).astype(np.int16)


def babble(seconds: float) -> np.ndarray:
    """Four voices talking over each other about other things."""
    talk = [
        ("the weather in the city has been unusually warm this month", "slt", "flite"),
        ("please remember to bring the documents to the meeting", "en-us", "espeak-ng"),
        ("our quarterly results exceeded the forecast by a wide margin", "awb", "flite"),
        ("the train to the airport leaves every fifteen minutes", "en+f3", "espeak-ng"),
    ]
    n = int(8000 * seconds)
    mix = np.zeros(n)
    for text, voice, engine in talk:
        part = spoken(text, voice, engine)
        mix += np.tile(part, n // len(part) + 1)[:n]
    return (mix / np.abs(mix).max() * 12000).astype(np.int16)


def microphone(path: Path, says: str) -> Path:
    """Part of the prompt, then the answer (barge-in), then quiet until the flow hangs up.
    baresip starts its microphone before the call is up (its auto-answer waits a
    moment): the pause before the answer covers that."""
    if says == "<music>":
        answer = music(6)
    elif says == "<babble>":
        answer = babble(6)
    elif says:
        answer = spoken(says, "rms")
    else:
        answer = silence(0)
    return write_wav(path, np.concatenate([silence(3.0), answer, silence(15)]))


SURVEY = [
    {
        "type": "listen",
        "name": "answer",
        "prompt": {"type": "say", "text": "Hello {field1}. Will you attend? Say yes or no."},
        "choices": [
            {
                "name": "yes",
                "phrases": ["yes", "yeah", "sure"],
                "key": "1",
                "steps": [{"type": "set_result", "value": "yes"}],
            },
            {
                "name": "no",
                "phrases": ["no", "no thanks", "nope"],
                "key": "2",
                "steps": [{"type": "set_result", "value": "no"}],
            },
            {
                "name": "agent",
                "phrases": ["talk to an agent", "agent"],
                "steps": [{"type": "set_result", "value": "agent"}],
            },
        ],
        "digits": 4,
        "then": [{"type": "set_result", "value": "code {answer}"}],
        "no_match": [{"type": "set_result", "value": "no match"}],
        "no_input": [{"type": "set_result", "value": "no input"}],
        "no_input_timeout": 2,
        "max_speech": 4,
        # music is forced into some answer by the grammar: the free decode disagrees
        "confidence": 0.5,
    },
    {"type": "report", "header": "heard", "value": "{answer_text}", "order": 1},
    {"type": "report", "header": "confidence", "value": "{answer_confidence}", "order": 2},
]


def api(server, path: str, body: dict | None = None) -> dict:
    return httpx.post(server.url + path, json=body, headers=HEADERS, timeout=30).json()


def test_survey_answered_by_voice(tmp_path, ports, server_factory, phone_factory):
    users = {"trunkuser": "trunkpass", **{number: "pw" for number in CALLERS}}
    carrier = Kamailio(tmp_path / "kamailio", KamailioConfig(port=ports.port(), users=users))
    carrier.start()
    try:
        run_survey(tmp_path, carrier, server_factory, phone_factory)
    finally:
        carrier.stop()


def run_survey(tmp_path, carrier, server_factory, phone_factory):
    server = server_factory(trunks=[customer_trunk(carrier)])
    carrier.wait_registered("trunkuser")
    phones = []
    for number, (says, _) in CALLERS.items():
        wav = microphone(tmp_path / f"mic-{number}.wav", says)
        phones.append(
            phone_factory(BaresipAccount(number, "pw", registrar=carrier.address), wav=wav)
        )
    for phone in phones:
        phone.wait_registered()

    list_id = api(server, "/api/create_campaign_list", {"list_name": "voice"})["response"][
        "list_id"
    ]
    contacts = [
        {"contact_name": n, "contact_number": n, "contact_fields": {"field1": "friend"}}
        for n in CALLERS
    ]
    assert (
        api(server, "/api/add_contact_to_list", {"list_id": list_id, "contacts": contacts})[
            "response"
        ]["success"]
        == "true"
    )
    created = api(
        server,
        "/api/create_campaign",
        open_now(
            list_id,
            "voice survey",
            "1",
            calls_per_minute="600",
            flow=SURVEY,
        ),
    )
    assert created["response"]["success"] == "true", created
    campaign_id, token = created["response"]["campaign_id"], created["response"]["token"]

    def report():
        rows = httpx.post(
            f"{server.url}/api/calls/campaign/{token}/callJob/getReport",
            json={"phones": list(CALLERS)},
            timeout=10,
        ).json()
        done = all(r["jobStatus"] not in ("planned", "inProcess", "onRetry") for r in rows)
        return done and len(rows) == len(CALLERS) and rows

    rows = {r["phone"]: r for r in wait_until(report, 90, what="every survey call over")}
    results = {number: rows[number]["callResult"] for number in CALLERS}
    assert results == {number: result for number, (_, result) in CALLERS.items()}
    assert rows["5552003"]["reportData"]["heard"] == "talk to an agent"
    assert rows["5552004"]["reportData"]["heard"] == "four two seven"
    assert 0 < float(rows["5552001"]["reportData"]["confidence"]) <= 1
    assert rows["5552005"]["reportData"]["heard"] == ""

    info = httpx.get(f"{server.url}/api/calls/campaign/{token}", timeout=10).json()
    # four answers of about a second, music and babble cut at max_speech (4 s)
    assert 6 <= info["shortReport"]["usedAsrSeconds"] <= 20

    cdrs = api(server, "/api/get_cdr_by_campaign_id", {"campaign_id": campaign_id})
    by_number = {c["dialed_number"]: c for c in cdrs["response"]["result"]}
    [agent] = by_number["5552003"]["speech_inputs"]
    assert (agent["name"], agent["value"], agent["outcome"]) == ("answer", "agent", "choice")
    assert agent["text"] == "talk to an agent"
    [code] = by_number["5552004"]["speech_inputs"]
    assert (code["value"], code["outcome"]) == ("427", "digits")
    assert by_number["5552005"]["speech_inputs"][0]["outcome"] == "no_input"
    assert by_number["5552006"]["speech_inputs"][0]["outcome"] == "no_match"
    assert by_number["5552007"]["speech_inputs"][0]["outcome"] == "no_match"
