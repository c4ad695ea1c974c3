"""A phone's REFER handled by the switch's Transfers, on real channels and bridges: who
ends up bridged with whom, who is released, what the REFER is answered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import numpy as np
import pytest

from media.clock import MediaClock
from media.moh import MohSource, MusicOnHold
from media.ports import PortAllocator
from media.tones import hold_music
from softswitch.bridge import Bridge, Tap
from softswitch.channel import Channel, ChannelState
from softswitch.replacement import ReplaceRefused
from softswitch.sip.message import Request, Response
from softswitch.sip.parser import parse_message
from softswitch.sip.replaces import Replaces
from softswitch.transfer import Transfers
from tests.legs import Legs, legs, until


@pytest.fixture
async def made() -> AsyncIterator[Legs]:
    async with legs(PortAllocator(38000, 38999)) as made:
        yield made


class Refer:
    """The server transaction of one REFER: what the handler answered."""

    def __init__(self, *refer_to: str) -> None:
        text = (
            "REFER sip:switch SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKt1\r\n"
            "From: <sip:102@h>;tag=a\r\nTo: <sip:101@h>;tag=b\r\nCall-ID: t-1\r\n"
            "CSeq: 5 REFER\r\nMax-Forwards: 70\r\n"
            + "".join(f"Refer-To: {value}\r\n" for value in refer_to)
            + "Content-Length: 0\r\n\r\n"
        )
        request = parse_message(text.encode())
        assert isinstance(request, Request)
        self.request = request
        self.responses: list[Response] = []

    def respond(self, response: Response) -> None:
        self.responses.append(response)

    @property
    def status(self) -> int:
        return self.responses[-1].status


class Kit:
    """The switch's part: bridges on a hand-driven clock, spawned work, the dialer."""

    def __init__(self, made: Legs) -> None:
        self.made = made
        self.clock = MediaClock()
        self.moh = MohSource(MusicOnHold(hold_music()), self.clock)
        self.tasks: list[asyncio.Task[object]] = []
        self.dialed: list[tuple[str, str]] = []
        self.targets: dict[str, Channel | int] = {}
        self.replaced: Channel | None = None
        self.ringing: Channel | None = None  # a consultation call still ringing its target
        self.transferred: list[tuple[Channel, Channel, Channel]] = []
        self.transfers = Transfers(
            self.dial,
            self.bridge,
            self.spawn,
            self.find_replaced,
            music=lambda: self.moh,
            on_transferred=lambda *parties: self.transferred.append(parties),
            release_wait=0.2,  # these referrers' phones never hang up by themselves
            take_ringing=lambda replaces, owner: self.ringing,
        )

    async def dial(self, number: str, caller_id: str) -> Channel | int:
        self.dialed.append((number, caller_id))
        return self.targets.get(number, 404)

    def find_replaced(self, replaces: Replaces) -> Channel:
        if self.replaced is None:
            raise ReplaceRefused(481, "Call/Transaction Does Not Exist")
        return self.replaced

    def bridge(self, a: Channel, b: Channel, *, tap: Tap | None = None) -> Bridge:
        bridge = Bridge(a, b, self.clock, self.moh)
        bridge.tap = tap
        bridge.start()
        return bridge

    def spawn(self, coro: Coroutine[Any, Any, object]) -> object:
        task = asyncio.ensure_future(coro)
        self.tasks.append(task)
        return task

    async def settle(self) -> None:
        await asyncio.gather(*self.tasks)


async def in_call(kit: Kit) -> tuple[Channel, Channel]:
    """The transferee (101) bridged with the referrer (102)."""
    transferee = (await kit.made.leg("101")).channel
    referrer = (await kit.made.leg("102")).channel
    kit.bridge(transferee, referrer)
    return transferee, referrer


async def test_blind_the_target_answers_the_transferee_is_handed_over_and_the_referrer_goes(
    made: Legs,
) -> None:
    kit = Kit(made)
    transferee, referrer = await in_call(kit)
    target = await made.channel("103")  # dialed, not answered yet
    kit.targets["103"] = target
    refer = Refer("<sip:103@switch>")
    kit.transfers.refer(referrer, refer)  # type: ignore[arg-type]
    assert refer.status == 202
    await until(lambda: transferee.rtp in kit.moh)  # waiting for 103, with the music
    assert kit.dialed == [("103", "101")] and transferee.bridged is None
    target.up()
    await until(lambda: referrer.state == ChannelState.HUNGUP)
    await kit.settle()
    assert transferee.bridged is target and target.bridged is transferee
    assert transferee.rtp not in kit.moh
    assert referrer.cause == "transferred"
    assert kit.transferred == [(referrer, transferee, target)]
    # the new pair is linked: the target hanging up ends the transferee's call
    await target.hangup()
    await until(lambda: transferee.state == ChannelState.HUNGUP)


async def test_blind_the_target_refuses_and_the_two_parties_talk_again(made: Legs) -> None:
    kit = Kit(made)
    transferee, referrer = await in_call(kit)
    target = await made.channel("103")
    kit.targets["103"] = target
    kit.transfers.refer(referrer, Refer("<sip:103@switch>"))  # type: ignore[arg-type]
    await until(lambda: transferee.rtp in kit.moh)
    target.failed("busy", 486)
    await until(lambda: transferee.bridged is referrer)
    await kit.settle()
    assert referrer.state == transferee.state == ChannelState.UP
    assert kit.transferred == [] and len(kit.moh) == 0


async def test_blind_to_a_number_nothing_routes_to_keeps_the_call(made: Legs) -> None:
    kit = Kit(made)
    transferee, referrer = await in_call(kit)
    refer = Refer("<sip:999@switch>")
    kit.transfers.refer(referrer, refer)  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    await kit.settle()
    assert refer.status == 202 and kit.dialed == [("999", "101")]
    assert transferee.bridged is referrer and referrer.state == ChannelState.UP


async def test_a_referrer_in_no_bridge_or_a_bad_refer_to_is_refused(made: Legs) -> None:
    kit = Kit(made)
    alone = (await made.leg("102")).channel
    refer = Refer("<sip:103@switch>")
    kit.transfers.refer(alone, refer)  # type: ignore[arg-type]
    assert refer.status == 403
    _, referrer = await in_call(kit)
    for bad in (Refer(), Refer("<sip:1@h>", "<sip:2@h>"), Refer("<mailto:x@h>")):
        kit.transfers.refer(referrer, bad)  # type: ignore[arg-type]
        assert bad.status == 400
    assert kit.dialed == []


async def test_attended_the_transferee_takes_the_consultation_s_place(made: Legs) -> None:
    kit = Kit(made)
    transferee, referrer = await in_call(kit)
    consulting = (await made.leg("102")).channel  # 102's second call, to 103
    target = (await made.leg("103")).channel
    kit.bridge(consulting, target)
    kit.replaced = consulting
    refer = Refer("<sip:103@switch?Replaces=c2%3Bto-tag%3Dx%3Bfrom-tag%3Dy>")
    kit.transfers.refer(referrer, refer)  # type: ignore[arg-type]
    assert refer.status == 202
    await until(lambda: consulting.state == ChannelState.HUNGUP)
    await kit.settle()
    assert transferee.bridged is target and target.bridged is transferee
    assert referrer.state == ChannelState.HUNGUP and kit.dialed == []
    assert kit.transferred == [(referrer, transferee, target)]


async def test_a_referrer_that_hangs_up_on_the_final_notify_gets_no_bye_from_us(
    made: Legs,
) -> None:
    """Phones hang up once told 200: the switch waits for that BYE instead of sending one
    that would cross it (the phone's BYE would get 481)."""
    kit = Kit(made)
    kit.transfers.release_wait = 5.0
    transferee, referrer = await in_call(kit)
    consulting = (await made.leg("102")).channel
    target = (await made.leg("103")).channel
    kit.bridge(consulting, target)
    kit.replaced = consulting
    kit.transfers.refer(referrer, Refer("<sip:103@h?Replaces=c2%3Bto-tag%3Dx%3Bfrom-tag%3Dy>"))  # type: ignore[arg-type]
    await until(lambda: consulting.state == ChannelState.HUNGUP)  # the replaced call: at once
    assert consulting.cause == "transferred"
    await asyncio.sleep(0.3)
    assert referrer.state == ChannelState.UP  # its phone's turn to hang up
    bye = referrer.session.on_remote_bye
    assert bye is not None
    bye("normal clearing")  # the phone's BYE, as the dialog reports it
    await asyncio.wait_for(kit.settle(), 1.0)  # released without waiting out the 5 s
    assert referrer.cause == "normal clearing" and transferee.bridged is target


async def test_semi_attended_the_transferee_waits_for_the_ringing_target(made: Legs) -> None:
    """The Replaces names the referrer's consultation call while it still rings: the
    transferee hears the music until the target answers, then talks with it."""
    kit = Kit(made)
    transferee, referrer = await in_call(kit)
    target = await made.channel("103")  # rung by the consultation call, not answered
    kit.ringing = target
    refer = Refer("<sip:103@h?Replaces=c2%3Bto-tag%3Dx%3Bfrom-tag%3Dy>")
    kit.transfers.refer(referrer, refer)  # type: ignore[arg-type]
    assert refer.status == 202
    await until(lambda: transferee.rtp in kit.moh)
    assert transferee.bridged is None and kit.dialed == []
    target.up()
    await until(lambda: referrer.state == ChannelState.HUNGUP)
    await kit.settle()
    assert transferee.bridged is target and target.bridged is transferee
    assert kit.transferred == [(referrer, transferee, target)]


async def test_semi_attended_a_target_that_never_answers_gives_the_call_back(
    made: Legs,
) -> None:
    kit = Kit(made)
    transferee, referrer = await in_call(kit)
    target = await made.channel("103")
    kit.ringing = target
    kit.transfers.refer(referrer, Refer("<sip:103@h?Replaces=c%3Bto-tag%3Dx%3Bfrom-tag%3Dy>"))  # type: ignore[arg-type]
    await until(lambda: transferee.rtp in kit.moh)
    target.failed("no answer", 480)
    await until(lambda: transferee.bridged is referrer)
    await kit.settle()
    assert referrer.state == transferee.state == ChannelState.UP and kit.transferred == []


@pytest.mark.parametrize("kind", ["blind", "attended"])
async def test_the_target_takes_the_referrer_s_side_of_the_call_s_recording(
    made: Legs, kind: str
) -> None:
    """A recorded click2call bridges (agent, customer) and its recorder's tap gets what
    each side says in that order: when the agent transfers the customer, the target is
    recorded on the agent's side, the customer stays on the customer's."""
    kit = Kit(made)
    referrer = (await made.leg("102")).channel  # the agent
    transferee = (await made.leg("101")).channel  # the customer
    heard: list[tuple[np.ndarray | None, np.ndarray | None]] = []

    def tap(a_said: np.ndarray | None, b_said: np.ndarray | None) -> None:
        heard.append((a_said, b_said))

    kit.bridge(referrer, transferee, tap=tap)
    target = (await made.leg("103")).channel
    if kind == "blind":
        kit.targets["103"] = target
        refer = Refer("<sip:103@switch>")
    else:
        consulting = (await made.leg("102")).channel
        kit.bridge(consulting, target)
        kit.replaced = consulting
        refer = Refer("<sip:103@h?Replaces=c2%3Bto-tag%3Dx%3Bfrom-tag%3Dy>")
    kit.transfers.refer(referrer, refer)  # type: ignore[arg-type]
    await until(lambda: transferee.bridged is target)
    await kit.settle()
    joint = target.bridge
    assert isinstance(joint, Bridge)
    assert (joint.a, joint.b) == (target, transferee) and joint.tap is tap


@pytest.mark.parametrize("whose", ["another extension's", "the transferee's"])
async def test_attended_naming_a_call_not_the_referrer_s_keeps_every_call(
    made: Legs, whose: str
) -> None:
    """A phone hands over only its own calls: a Replaces naming 104's call with 105, or
    the transferee's own leg, changes nothing (NOTIFY 403)."""
    kit = Kit(made)
    transferee, referrer = await in_call(kit)
    other = (await made.leg("104")).channel
    partner = (await made.leg("105")).channel
    kit.bridge(other, partner)
    kit.replaced = other if whose == "another extension's" else transferee
    kit.transfers.refer(referrer, Refer("<sip:1@h?Replaces=c%3Bto-tag%3Dx%3Bfrom-tag%3Dy>"))  # type: ignore[arg-type]
    await asyncio.sleep(0.3)
    await kit.settle()
    assert transferee.bridged is referrer and other.bridged is partner
    channels = (transferee, referrer, other, partner)
    assert all(c.state == ChannelState.UP for c in channels) and kit.transferred == []


async def test_attended_naming_no_dialog_keeps_the_call(made: Legs) -> None:
    kit = Kit(made)
    transferee, referrer = await in_call(kit)
    refer = Refer("<sip:103@switch?Replaces=nope%3Bto-tag%3Dx%3Bfrom-tag%3Dy>")
    kit.transfers.refer(referrer, refer)  # type: ignore[arg-type]
    await kit.settle()
    assert refer.status == 202 and transferee.bridged is referrer
