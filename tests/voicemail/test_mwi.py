"""softswitch/voicemail/mwi.py in a real switch over UDP, our own UA as the phone:
who may subscribe to which lamp, the NOTIFYs on a change, and the unsolicited NOTIFY
to a registered device that never subscribed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from softswitch.sip.address import Address
from softswitch.sip.dialog import Dialog
from softswitch.sip.message import Request, Response
from softswitch.sip.transaction import ServerTransaction, Timers
from softswitch.sip.transport import Peer
from softswitch.sip.ua import Credentials, UserAgent
from softswitch.sip.uri import SipUri
from softswitch.store import Binding
from softswitch.switch import Switch
from softswitch.voicemail.mwi import MAX_PER_BOX
from tests.switch_harness import switch_config

FAST = Timers(t1=0.02, t2=0.1, t4=0.1)


class Phone:
    """Records every request it gets (in or out of a dialog) and answers 200."""

    def __init__(self) -> None:
        self.ua = UserAgent("127.0.0.1", 0, self.on_request, timers=FAST)
        self.requests: list[Request] = []

    def on_request(self, st: ServerTransaction) -> None:
        self.requests.append(st.request)
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
async def env(tmp_path: Path, ports) -> AsyncIterator[tuple[Switch, Phone]]:
    config = switch_config(
        tmp_path,
        ports.port(),
        29600,
        extension_options={"102": {"voicemail": True}},
        sip={"min_expires": 60, "max_expires": 900},
    )
    switch = Switch(config, announce=lambda line: None, timers=FAST)
    await switch.start()
    phone = Phone()
    await phone.ua.start()
    yield switch, phone
    await phone.ua.stop()
    await switch.stop()
    switch.store.close()


async def subscribe(
    switch: Switch, phone: Phone, user: str, box: str, event: str = "message-summary", **more
) -> tuple[Request, Response]:
    uri = SipUri("sip", box, "127.0.0.1", switch.ua.port)
    me = Address(SipUri("sip", user, "127.0.0.1", switch.ua.port))
    request = phone.ua.new_request("SUBSCRIBE", uri, me, Address(uri), contact_user=user)
    request.headers.add("Event", event)
    for name, value in more.items():
        request.headers.add(name, value)
    response = await phone.ua.request(
        request, Peer("UDP", "127.0.0.1", switch.ua.port), Credentials(user, f"pw{user}")
    )
    return request, response


async def test_own_box_subscription_gets_the_summary_and_every_change(env) -> None:
    switch, phone = env
    request, response = await subscribe(switch, phone, "102", "102", Expires="600")
    assert response.status == 200
    assert response.headers.get("Expires") == "600"
    dialog = Dialog.as_uac(request, response, Peer("UDP", "127.0.0.1", switch.ua.port))
    phone.ua.dialogs[dialog.id] = phone
    first = await phone.wait(1)
    assert first.method == "NOTIFY" and first.to_addr.tag == dialog.local_tag
    assert first.headers.get("Content-Type") == "application/simple-message-summary"
    assert b"Messages-Waiting: no" in first.body and b"Voice-Message: 0/0" in first.body
    vm = switch.voicemail
    message = vm.store.add_message("102", "101", time.time(), 2.0, "m.wav")
    vm.mark_heard("102", message.id, False)  # a change: the lamp is told
    second = await phone.wait(2)
    assert b"Messages-Waiting: yes" in second.body and b"Voice-Message: 1/0" in second.body
    assert len(phone.requests) == 2  # subscribed: no unsolicited NOTIFY besides


@pytest.mark.parametrize(
    ("user", "box", "event", "status"),
    [
        ("101", "102", "message-summary", 403),  # someone else's lamp
        ("101", "101", "message-summary", 404),  # no voicemail box
        ("102", "102", "as-feature-event", 489),  # an event package we do not serve
    ],
)
async def test_refused_subscriptions(env, user, box, event, status) -> None:
    switch, phone = env
    _, response = await subscribe(switch, phone, user, box, event)
    assert response.status == status
    if status == 489:
        assert response.headers.get_all("Allow-Events") == [
            "dialog",
            "message-summary",
            "presence",
        ]
    assert not switch.mwi.subscriptions.of(box)


async def test_too_brief_and_unauthenticated(env) -> None:
    switch, phone = env
    _, brief = await subscribe(switch, phone, "102", "102", Expires="5")
    assert brief.status == 423 and brief.headers.get("Min-Expires") == "60"
    uri = SipUri("sip", "102", "127.0.0.1", switch.ua.port)
    request = phone.ua.new_request("SUBSCRIBE", uri, Address(uri), Address(uri))
    request.headers.add("Event", "message-summary")
    anonymous = await phone.ua.request(request, Peer("UDP", "127.0.0.1", switch.ua.port))
    assert anonymous.status == 401


async def test_registered_device_without_subscription_gets_unsolicited_notify(env) -> None:
    switch, phone = env
    contact = f"sip:102@127.0.0.1:{phone.ua.port}"
    switch.store.put_binding(
        Binding("102", contact, time.time() + 60, "reg", 1, "UDP", "127.0.0.1", phone.ua.port)
    )
    vm = switch.voicemail
    message = vm.store.add_message("102", "101", time.time(), 2.0, "m.wav")
    vm.mark_heard("102", message.id, False)
    notify = await phone.wait(1)
    assert notify.method == "NOTIFY" and notify.to_addr.tag is None  # outside any dialog
    assert str(notify.uri) == contact
    assert notify.headers.get("Event") == "message-summary"
    assert b"Messages-Waiting: yes" in notify.body
    assert b"Message-Account: sip:102@127.0.0.1" in notify.body


async def test_subscriptions_per_box_are_bounded_the_oldest_ended(env) -> None:
    switch, phone = env
    for _ in range(MAX_PER_BOX + 1):
        request, response = await subscribe(switch, phone, "102", "102", Expires="600")
        assert response.status == 200
        dialog = Dialog.as_uac(request, response, Peer("UDP", "127.0.0.1", switch.ua.port))
        phone.ua.dialogs[dialog.id] = phone  # the phone keeps every one of them
    kept = switch.mwi.subscriptions.of("102")
    assert len(kept) == MAX_PER_BOX
    await asyncio.sleep(0.3)
    assert all(s.active for s in kept)
    # the first subscription got a final NOTIFY saying it was deactivated
    finals = [
        r
        for r in phone.requests
        if r.headers.get("Subscription-State") == "terminated;reason=deactivated"
    ]
    assert len(finals) == 1


async def test_device_registering_while_messages_wait_gets_the_lamp_lit(env) -> None:
    switch, phone = env
    vm = switch.voicemail
    vm.store.add_message("102", "101", time.time(), 2.0, "m.wav")
    uri = SipUri("sip", "102", "127.0.0.1", switch.ua.port)
    register = phone.ua.new_request(
        "REGISTER",
        SipUri("sip", None, "127.0.0.1", switch.ua.port),
        Address(uri),
        Address(uri),
        contact_user="102",
    )
    response = await phone.ua.request(
        register, Peer("UDP", "127.0.0.1", switch.ua.port), Credentials("102", "pw102")
    )
    assert response.status == 200
    notify = await phone.wait(1)
    assert notify.method == "NOTIFY" and b"Messages-Waiting: yes" in notify.body
    # a refresh of the same registration does not repeat it
    refresh = phone.ua.new_request(
        "REGISTER",
        SipUri("sip", None, "127.0.0.1", switch.ua.port),
        Address(uri),
        Address(uri),
        contact_user="102",
        call_id=register.call_id,
        cseq=10,
    )
    refreshed = await phone.ua.request(
        refresh, Peer("UDP", "127.0.0.1", switch.ua.port), Credentials("102", "pw102")
    )
    assert refreshed.status == 200
    await asyncio.sleep(0.3)
    assert len(phone.requests) == 1


async def test_a_device_behind_a_front_door_is_notified_through_its_path(tmp_path, ports):
    config = switch_config(
        tmp_path, ports.port(), 29650, extension_options={"102": {"voicemail": True}}
    )
    config.cluster.front_doors = ["127.0.0.1"]
    config.cluster.secret = "a-cluster-secret-of-the-test"
    switch = Switch(config, announce=lambda line: None, timers=FAST)
    await switch.start()
    proxy = Phone()  # the front door the phone registered through: it gets the NOTIFY
    await proxy.ua.start()
    try:
        contact = "sip:102@198.18.0.7:5062"
        switch.store.put_binding(
            Binding("102", contact, time.time() + 60, "reg", 1, "UDP", "127.0.0.1", proxy.ua.port)
        )
        path = f"<sip:127.0.0.1:{proxy.ua.port};lr;received=sip:198.18.0.7:5062>"
        assert switch.binding_paths is not None
        switch.binding_paths.put("102", contact, path)
        vm = switch.voicemail
        message = vm.store.add_message("102", "101", time.time(), 2.0, "m.wav")
        vm.mark_heard("102", message.id, False)
        notify = await proxy.wait(1)
        assert notify.method == "NOTIFY" and str(notify.uri) == contact
        assert notify.headers.get_all("Route") == [path]
    finally:
        await proxy.ua.stop()
        await switch.stop()
        switch.store.close()
