"""Conference rooms with real phones: three baresip phones, each saying its own tone,
dial a room; each hears the other two and not itself; the API lists them, mutes one
(the others stop hearing it) and kicks one (it gets a BYE); a wrong PIN is refused."""

from __future__ import annotations

import time

import httpx
import numpy as np
import pytest

from tests.e2e.phones import registered
from tests.peers.audio import band_energy_ratio, read_wav
from tests.peers.baresip import Baresip
from tests.peers.process import wait_until

pytestmark = pytest.mark.peers

HEADERS = {"account": "account_1", "auth": "secret-one"}
# apart from each other and from the room's chimes (300, 600, 900, 1000 Hz)
TONES = {"101": 500.0, "102": 770.0, "103": 1250.0}
ROOMS = [
    {"number": "800", "name": "Open", "record": True, "account": "account_1"},
    {"number": "801", "pin": "2468", "account": "account_1"},
    {"number": "802", "max_participants": 2, "account": "account_1"},
]


@pytest.fixture
def server(server_factory):
    return server_factory(
        extensions={n: f"pw{n}" for n in ("101", "102", "103", "104")}, conferences=ROOMS
    )


def participants(server, room: str) -> list[dict]:
    reply = httpx.get(f"{server.url}/api/conferences/{room}/participants", headers=HEADERS)
    assert reply.status_code == 200, reply.text
    return reply.json()["response"]["result"]


def hears(audio: np.ndarray, tone: float) -> float:
    return band_energy_ratio(audio, tone, width=25.0)


def window(phone: Baresip, since: float, start: float, end: float) -> np.ndarray:
    """What ``phone`` heard between ``start`` and ``end`` (monotonic clock), its call
    having been established at ``since``."""
    samples, rate = read_wav(phone.last_recording("dec"))
    return samples[int((start - since) * rate) : int((end - since) * rate)]


def test_three_phones_hear_each_other_not_themselves_then_mute_and_kick(
    server, phone_factory, tmp_path
) -> None:
    port = server.config.sip_host_port[1]
    phones = {n: registered(phone_factory, server, n, hz) for n, hz in TONES.items()}
    established: dict[str, float] = {}
    for number, p in phones.items():
        p.dial(f"sip:800@127.0.0.1:{port}")
        p.wait_call_established()
        established[number] = time.monotonic()
    wait_until(lambda: len(participants(server, "800")) == 3, 5, what="three in the room")
    everyone_in = time.monotonic()
    time.sleep(3.0)
    listed = participants(server, "800")
    assert sorted(p["number"] for p in listed) == ["101", "102", "103"]
    by_number = {p["number"]: p["participant_id"] for p in listed}
    room = httpx.get(f"{server.url}/api/conferences/800", headers=HEADERS).json()
    recording = room["response"]["result"]["recording_name"]
    assert recording.startswith("conference-800-") and recording.endswith(".wav")

    muted_at = time.monotonic()
    reply = httpx.patch(
        f"{server.url}/api/conferences/800/participants/{by_number['103']}",
        json={"muted": True},
        headers=HEADERS,
    )
    assert reply.status_code == 200 and reply.json()["response"]["result"]["muted"] == "true"
    time.sleep(3.0)
    kicked_at = time.monotonic()
    reply = httpx.delete(
        f"{server.url}/api/conferences/800/participants/{by_number['102']}", headers=HEADERS
    )
    assert reply.status_code == 200
    assert phones["102"].wait_call_closed().reason  # the switch sent the BYE
    wait_until(lambda: len(participants(server, "800")) == 2, 5, what="the kicked one out")
    for number in ("101", "103"):
        phones[number].hangup()
        phones[number].wait_call_closed()
    wait_until(lambda: participants(server, "800") == [], 5, what="an empty room")
    time.sleep(0.5)

    # the room's recording (closed when it emptied) has all three tones
    reply = httpx.get(f"{server.url}/api/recordings/{recording}", headers=HEADERS)
    assert reply.status_code == 200, reply.text
    (tmp_path / "room.wav").write_bytes(reply.content)
    mix, _ = read_wav(tmp_path / "room.wav")
    for hz in TONES.values():
        assert hears(mix, hz) > 0.1, hz
    # all three in (past the join chimes): the two others' tones, not one's own
    for number, p in phones.items():
        audio = window(p, established[number], everyone_in + 0.8, muted_at - 0.2)
        others = [hz for n, hz in TONES.items() if n != number]
        for hz in others:
            assert hears(audio, hz) > 0.2, (number, hz, [hears(audio, h) for h in TONES.values()])
        assert hears(audio, TONES[number]) < 0.02, (number, hears(audio, TONES[number]))
    # 103 muted: 101 and 102 hear only each other, 103 still hears both
    for number in ("101", "102"):
        audio = window(phones[number], established[number], muted_at + 0.5, kicked_at - 0.2)
        other = "102" if number == "101" else "101"
        assert hears(audio, TONES[other]) > 0.5, number
        assert hears(audio, TONES["103"]) < 0.02, number
    audio = window(phones["103"], established["103"], muted_at + 0.5, kicked_at - 0.2)
    assert hears(audio, TONES["101"]) > 0.2 and hears(audio, TONES["102"]) > 0.2


def test_the_pin_room_lets_in_the_right_pin_and_hangs_up_after_three_wrong(
    server, phone_factory
) -> None:
    port = server.config.sip_host_port[1]
    guest = registered(phone_factory, server, "101", TONES["101"])
    intruder = registered(phone_factory, server, "104", 440.0)

    guest.dial(f"sip:801@127.0.0.1:{port}")
    guest.wait_call_established()  # answered: the PIN is asked in the call
    time.sleep(0.5)
    guest.send_dtmf("2468")
    wait_until(lambda: len(participants(server, "801")) == 1, 8, what="the guest let in")

    intruder.dial(f"sip:801@127.0.0.1:{port}")
    intruder.wait_call_established()
    for attempt in ("1111#", "9999#", "0000#"):
        time.sleep(0.6)
        intruder.send_dtmf(attempt)
        time.sleep(1.2)  # the wrong-PIN tone, the prompt again
    assert intruder.wait_call_closed(timeout=10).reason  # hung up by the switch: a BYE
    assert [p["number"] for p in participants(server, "801")] == ["101"]
    guest.hangup()
    guest.wait_call_closed()


def test_a_full_room_is_busy_and_a_caller_leaving_the_pin_prompt_is_let_go(
    server, phone_factory
) -> None:
    port = server.config.sip_host_port[1]
    first, second, third = (
        registered(phone_factory, server, n, TONES.get(n, 440.0)) for n in ("101", "102", "103")
    )
    for p in (first, second):
        p.dial(f"sip:802@127.0.0.1:{port}")
        p.wait_call_established()
    wait_until(lambda: len(participants(server, "802")) == 2, 5, what="two in the room")
    third.dial(f"sip:802@127.0.0.1:{port}")
    assert third.wait_call_closed().reason.startswith("486")

    third.dial(f"sip:801@127.0.0.1:{port}")  # the PIN room: hang up at the prompt
    third.wait_call_established()
    time.sleep(0.5)
    third.hangup()
    third.wait_call_closed()
    # only the two in room 802 keep channels: the caller who left the lobby is let go
    wait_until(lambda: len(server.switch.channels) == 2, 5, what="the lobby caller's channel gone")
    assert participants(server, "801") == []
    for p in (first, second):
        p.hangup()
        p.wait_call_closed()


def test_the_api_calls_a_phone_into_the_room(server, phone_factory) -> None:
    port = server.config.sip_host_port[1]
    host = registered(phone_factory, server, "101", TONES["101"])
    invited = registered(phone_factory, server, "102", TONES["102"])  # answers by itself
    host.dial(f"sip:800@127.0.0.1:{port}")
    host.wait_call_established()
    reply = httpx.post(
        f"{server.url}/api/conferences/800/participants", json={"number": "102"}, headers=HEADERS
    )
    assert reply.status_code == 200, reply.text
    invited.wait_incoming()
    invited.wait_call_established()
    since = time.monotonic()
    wait_until(lambda: len(participants(server, "800")) == 2, 5, what="the invited phone in")
    listed = {p["number"]: p["direction"] for p in participants(server, "800")}
    assert listed == {"101": "inbound", "102": "outbound"}
    time.sleep(3.0)
    invited.hangup()
    invited.wait_call_closed()
    host.hangup()
    host.wait_call_closed()
    time.sleep(0.5)
    audio = window(invited, since, since + 1.0, since + 2.8)
    assert hears(audio, TONES["101"]) > 0.5 and hears(audio, TONES["102"]) < 0.02
