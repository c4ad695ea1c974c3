"""softswitch/presence/lamps.py in a real switch over UDP, our own UA as the watching
phone: who may watch whom (404, 403, 406, 489), and the NOTIFYs as a real channel of
the watched extension rings, is answered and hangs up."""

from __future__ import annotations

import asyncio
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from softswitch.channel import Channel
from softswitch.sip.address import Address
from softswitch.sip.dialog import Dialog
from softswitch.sip.message import Request, Response
from softswitch.sip.transaction import ServerTransaction, Timers
from softswitch.sip.transport import Peer
from softswitch.sip.ua import Credentials, UserAgent
from softswitch.sip.uri import SipUri
from softswitch.store import Binding
from softswitch.switch import Switch
from tests.legs import Legs
from tests.switch_harness import switch_config

FAST = Timers(t1=0.02, t2=0.1, t4=0.1)
DIALOG_NS = "{urn:ietf:params:xml:ns:dialog-info}"
PIDF_NS = "{urn:ietf:params:xml:ns:pidf}"
RPID_NS = "{urn:ietf:params:xml:ns:pidf:rpid}"
DM_NS = "{urn:ietf:params:xml:ns:pidf:data-model}"


class Phone:
    """Records every request it gets (in or out of a dialog) and answers 200."""

    def __init__(self) -> None:
        self.ua = UserAgent("127.0.0.1", 0, self.on_request, timers=FAST)
        self.requests: list[Request] = []
        self.silent = False  # True: requests are recorded, never answered

    def on_request(self, st: ServerTransaction) -> None:
        self.requests.append(st.request)
        if not self.silent:
            st.respond(self.ua.response(st.request, 200, to_tag="phone"))

    def on_ack(self, request: Request) -> None:
        pass

    def on_stray_response(self, response: Response) -> None:
        pass

    async def wait(self, count: int) -> Request:
        deadline = time.monotonic() + 3
        while len(self.requests) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert len(self.requests) >= count, self.requests
        return self.requests[count - 1]


@pytest.fixture
async def env(tmp_path: Path, ports, rtp_ports) -> AsyncIterator[tuple[Switch, Phone, Legs]]:
    rtp_first = rtp_ports.block(100)
    config = switch_config(
        tmp_path,
        ports.port(),
        rtp_first,
        extensions={"101": "pw101", "102": "pw102", "103": "pw103", "201": "pw201"},
        # 201 belongs to another company on the same switch
        extension_options={"201": {"account": "account_2"}},
        sip={"min_expires": 60, "max_expires": 900},
    )
    switch = Switch(config, announce=lambda line: None, timers=FAST)
    await switch.start()
    phone = Phone()
    await phone.ua.start()
    legs = Legs(switch.ua, switch.ports)
    yield switch, phone, legs
    legs.close()
    await phone.ua.stop()
    await switch.stop()
    switch.store.close()
    rtp_ports.release(rtp_first, 100)


async def subscribe(
    switch: Switch, phone: Phone, user: str, watched: str, event: str, **more: str
) -> tuple[Request, Response]:
    uri = SipUri("sip", watched, "127.0.0.1", switch.ua.port)
    me = Address(SipUri("sip", user, "127.0.0.1", switch.ua.port))
    request = phone.ua.new_request("SUBSCRIBE", uri, me, Address(uri), contact_user=user)
    request.headers.add("Event", event)
    for name, value in more.items():
        request.headers.add(name.replace("_", "-"), value)
    response = await phone.ua.request(
        request, Peer("UDP", "127.0.0.1", switch.ua.port), Credentials(user, f"pw{user}")
    )
    return request, response


def keep_dialog(switch: Switch, phone: Phone, request: Request, response: Response) -> Dialog:
    dialog = Dialog.as_uac(request, response, Peer("UDP", "127.0.0.1", switch.ua.port))
    phone.ua.dialogs[dialog.id] = phone
    return dialog


def dialogs(notify: Request) -> list[tuple[str, str, str]]:
    """(id, direction, state) of each <dialog> in a dialog-info NOTIFY."""
    root = ET.fromstring(notify.body)
    assert root.tag == f"{DIALOG_NS}dialog-info" and root.get("state") == "full"
    return [
        (d.get("id") or "", d.get("direction") or "", d.findtext(f"{DIALOG_NS}state") or "")
        for d in root.findall(f"{DIALOG_NS}dialog")
    ]


def version(notify: Request) -> int:
    return int(ET.fromstring(notify.body).get("version") or "-1")


def presence(notify: Request) -> tuple[str, bool, str]:
    """(basic, on the phone, note) of a PIDF NOTIFY."""
    root = ET.fromstring(notify.body)
    assert root.tag == f"{PIDF_NS}presence"
    basic = root.findtext(f"{PIDF_NS}tuple/{PIDF_NS}status/{PIDF_NS}basic") or ""
    person = root.find(f"{DM_NS}person")
    assert person is not None
    busy = person.find(f"{RPID_NS}activities/{RPID_NS}on-the-phone") is not None
    return basic, busy, person.findtext(f"{DM_NS}note") or ""


async def test_dialog_watcher_sees_a_call_ring_answer_and_end(env) -> None:
    switch, phone, legs = env
    request, response = await subscribe(switch, phone, "101", "102", "dialog", Expires="600")
    assert response.status == 200 and response.headers.get("Expires") == "600"
    dialog = keep_dialog(switch, phone, request, response)
    first = await phone.wait(1)
    assert first.headers.get("Content-Type") == "application/dialog-info+xml"
    assert first.headers.get("Event") == "dialog"
    assert first.to_addr.tag == dialog.local_tag
    assert dialogs(first) == [] and version(first) == 0
    root = ET.fromstring(first.body)
    assert root.get("entity") == "sip:102@127.0.0.1"

    channel: Channel = await legs.channel("102")  # the switch rings 102
    switch.channels.add(channel)
    trying = await phone.wait(2)
    assert dialogs(trying) == [(channel.name, "recipient", "trying")]
    channel.ringing()
    early = await phone.wait(3)
    assert dialogs(early) == [(channel.name, "recipient", "early")]
    [element] = ET.fromstring(early.body).findall(f"{DIALOG_NS}dialog")
    assert element.get("call-id") == channel.call_id
    channel.ringing(early_media=True)  # still early: no NOTIFY for it
    channel.up()
    confirmed = await phone.wait(4)
    assert dialogs(confirmed) == [(channel.name, "recipient", "confirmed")]
    channel.failed("normal clearing", 0)
    ended = await phone.wait(5)
    assert dialogs(ended) == [(channel.name, "recipient", "terminated")]
    assert [version(n) for n in phone.requests] == [0, 1, 2, 3, 4]
    assert switch.lamps.lines == {}  # told once, then forgotten

    # unsubscribe: a final NOTIFY, the state once more
    dialog.local_cseq = 10  # past the challenged SUBSCRIBE's retry
    unsubscribe = dialog.create_request(
        "SUBSCRIBE", phone.ua.via("UDP", "127.0.0.1"), contact=phone.ua.contact("101", "UDP")
    )
    unsubscribe.headers.add("Event", "dialog")
    unsubscribe.headers.add("Expires", "0")
    answer = await phone.ua.request(unsubscribe, dialog.peer)
    assert answer.status == 200
    final = await phone.wait(6)
    assert final.headers.get("Subscription-State", "").startswith("terminated")
    assert version(final) == 5
    assert len(switch.lamps.watchers["dialog"]) == 0


async def test_presence_watcher_sees_busy_then_available(env) -> None:
    switch, phone, legs = env
    contact = "sip:103@127.0.0.1:5999"
    switch.store.put_binding(
        Binding("103", contact, time.time() + 60, "reg", 1, "UDP", "127.0.0.1", 5999)
    )
    request, response = await subscribe(
        switch, phone, "101", "103", "presence", Accept="application/pidf+xml"
    )
    assert response.status == 200
    keep_dialog(switch, phone, request, response)
    first = await phone.wait(1)
    assert first.headers.get("Content-Type") == "application/pidf+xml"
    assert presence(first) == ("open", False, "Available")

    channel = await legs.channel("103")
    switch.channels.add(channel)
    channel.ringing()
    ringing = await phone.wait(3)  # trying, then early: both on the phone
    assert presence(ringing) == ("open", True, "Ringing")
    assert b"<rpid:on-the-phone/>" in ringing.body  # as baresip 1.0's presence.so looks
    channel.up()
    assert presence(await phone.wait(4)) == ("open", True, "On the phone")
    channel.failed("normal clearing", 0)
    assert presence(await phone.wait(5)) == ("open", False, "Available")


async def test_unregistered_extension_is_closed_until_a_device_registers(env) -> None:
    switch, phone, _ = env
    request, response = await subscribe(switch, phone, "101", "102", "presence")
    assert response.status == 200
    keep_dialog(switch, phone, request, response)
    assert presence(await phone.wait(1)) == ("closed", False, "Unavailable")
    # 102's phone registers (a real REGISTER): its watchers see it open at once
    uri = SipUri("sip", None, "127.0.0.1", switch.ua.port)
    aor = Address(SipUri("sip", "102", "127.0.0.1", switch.ua.port))
    register = phone.ua.new_request("REGISTER", uri, aor, aor, contact_user="102")
    register.headers.add("Expires", "600")
    registered = await phone.ua.request(
        register, Peer("UDP", "127.0.0.1", switch.ua.port), Credentials("102", "pw102")
    )
    assert registered.status == 200
    assert presence(await phone.wait(2)) == ("open", False, "Available")


@pytest.mark.parametrize(
    ("user", "watched", "event", "headers", "status"),
    [
        ("101", "199", "dialog", {}, 404),  # no such extension
        ("201", "102", "presence", {}, 403),  # another account's extension
        ("101", "201", "dialog", {}, 403),  # and the other way round
        ("101", "102", "dialog", {"Accept": "application/pidf+xml"}, 406),
        ("101", "102", "presence", {"Accept": "text/plain, application/*+xml"}, 406),
        ("101", "102", "conference", {}, 489),
        ("101", "102", "dialog", {"Expires": "soon"}, 400),
        ("101", "102", "dialog", {"Expires": "5"}, 423),
    ],
)
async def test_refused_watchers(env, user, watched, event, headers, status) -> None:
    switch, phone, _ = env
    _, response = await subscribe(switch, phone, user, watched, event, **headers)
    assert response.status == status
    if status == 489:
        assert response.headers.get_all("Allow-Events") == [
            "dialog",
            "message-summary",
            "presence",
        ]
    assert sum(len(w) for w in switch.lamps.watchers.values()) == 0
    assert phone.requests == []


async def test_accept_ranges_and_watching_oneself(env) -> None:
    switch, phone, _ = env
    for accept in ("application/*", "*/*", "application/dialog-info+xml;q=0.5, text/html"):
        request, response = await subscribe(switch, phone, "102", "102", "dialog", Accept=accept)
        assert response.status == 200, accept
        keep_dialog(switch, phone, request, response)
    await phone.wait(3)
    assert len(switch.lamps.watchers["dialog"].of("102")) == 3


async def test_anonymous_watcher_is_challenged(env) -> None:
    switch, phone, _ = env
    uri = SipUri("sip", "102", "127.0.0.1", switch.ua.port)
    request = phone.ua.new_request("SUBSCRIBE", uri, Address(uri), Address(uri))
    request.headers.add("Event", "dialog")
    response = await phone.ua.request(request, Peer("UDP", "127.0.0.1", switch.ua.port))
    assert response.status == 401


async def test_options_announce_the_packages_a_subscribe_may_name(env) -> None:
    switch, phone, _ = env
    uri = SipUri("sip", "102", "127.0.0.1", switch.ua.port)
    request = phone.ua.new_request("OPTIONS", uri, Address(uri), Address(uri))
    response = await phone.ua.request(request, Peer("UDP", "127.0.0.1", switch.ua.port))
    assert response.status == 200
    assert ", ".join(response.headers.get_all("Allow-Events")) == (
        switch.event_packages.allow_events
    )


async def test_stop_abandons_a_notify_in_flight_for_the_final_one(env) -> None:
    switch, phone, legs = env
    request, response = await subscribe(switch, phone, "101", "102", "dialog")
    keep_dialog(switch, phone, request, response)
    await phone.wait(1)
    phone.silent = True  # the watcher stops answering
    channel = await legs.channel("102")
    switch.channels.add(channel)
    await phone.wait(2)  # its NOTIFY is in flight, unanswered
    loop = asyncio.get_running_loop()
    started = loop.time()
    await switch.lamps.stop()
    # an unanswered NOTIFY lasts 64*T1 = 1.28 s here: queued behind the one in flight,
    # the final NOTIFY would make it 2.56 s
    assert loop.time() - started < 2.0
    final = phone.requests[-1]
    assert final.headers.get("Subscription-State") == "terminated;reason=noresource"
    assert dialogs(final) == [(channel.name, "recipient", "trying")]
    channel.failed("gone", 0)
