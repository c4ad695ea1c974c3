"""An extension's legs as its watchers see them: a real INVITE between two real
UserAgents, read as the phone's dialog from either side, and the activity lines add
up to."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from media.ports import PortAllocator
from media.session import RtpSession
from softswitch.channel import Channel, ChannelState, Direction, Endpoint, EndpointKind
from softswitch.presence.lines import Activity, Line, LineState, Role, activity, line_of
from softswitch.sip.address import Address
from softswitch.sip.invite import IncomingInvite, OutgoingInvite
from softswitch.sip.transaction import ServerTransaction
from softswitch.sip.transport import Peer
from softswitch.sip.ua import UserAgent
from softswitch.sip.uri import SipUri

HOST = "127.0.0.1"
OFFER = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"


class Pair:
    """The phone of 101 and the switch: the phone's INVITE and the switch's session."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[ServerTransaction] = asyncio.Queue()
        self.phone = UserAgent(HOST, 0, lambda st: None)
        self.switch = UserAgent(HOST, 0, self.incoming.put_nowait)

    async def invite(self) -> tuple[OutgoingInvite, IncomingInvite]:
        target = SipUri("sip", "102", HOST, self.switch.port)
        call = OutgoingInvite(
            self.phone,
            uri=target,
            from_addr=Address(SipUri("sip", "101", HOST)),
            to_addr=Address(target),
            peer=Peer("UDP", HOST, self.switch.port),
            body=OFFER,
        )
        self.task = asyncio.ensure_future(call.run())
        st = await asyncio.wait_for(self.incoming.get(), 2)
        return call, IncomingInvite(self.switch, st)


@pytest.fixture
async def pair(rtp_ports) -> AsyncIterator[tuple[Pair, PortAllocator]]:
    first = rtp_ports.block(100)
    p = Pair()
    await p.phone.start()
    await p.switch.start()
    yield p, PortAllocator(first, first + 99)
    p.task.cancel()
    await p.phone.stop()
    await p.switch.stop()
    rtp_ports.release(first, 100)


async def test_a_call_from_the_extension_is_its_initiator_dialog(pair) -> None:
    p, ports = pair
    call, session = await p.invite()
    rtp = await RtpSession.open(HOST, ports)
    try:
        endpoint = Endpoint(EndpointKind.EXTENSION, "101", "101")
        channel = Channel("SIP/101-1", Direction.INBOUND, endpoint, session, rtp, HOST)
        found = line_of(channel, ChannelState.RINGING)
        assert found is not None
        extension, line = found
        assert extension == "101"
        assert line == Line(
            "SIP/101-1",
            LineState.EARLY,
            Role.INITIATOR,
            call.request.call_id,
            call.request.from_addr.tag or "",  # the phone's tag is its local tag
            session.local_tag,
            f"sip:101@{HOST}",
            f"sip:102@{HOST}:{p.switch.port}",
        )
        channel.endpoint = Endpoint(EndpointKind.TRUNK, "carrier", "101")
        assert line_of(channel, ChannelState.UP) is None  # a carrier's leg is nobody's lamp
    finally:
        rtp.close()


async def test_a_call_to_the_extension_is_its_recipient_dialog(pair) -> None:
    p, ports = pair
    call, session = await p.invite()  # here the switch rings the phone (the roles swap)
    rtp = await RtpSession.open(HOST, ports)
    try:
        endpoint = Endpoint(EndpointKind.EXTENSION, "102", "102")
        channel = Channel("SIP/102-1", Direction.OUTBOUND, endpoint, call, rtp, HOST)
        assert line_of(channel, ChannelState.DOWN)[1].local_tag == ""  # nothing back yet
        session.progress(180)
        async with asyncio.timeout(2):
            while not call.early_tags:
                await asyncio.sleep(0.01)
        ringing = line_of(channel, ChannelState.RINGING)[1]
        assert (ringing.state, ringing.local_tag) == (LineState.EARLY, session.local_tag)
        session.answer(OFFER)
        await asyncio.wait_for(p.task, 2)
        found = line_of(channel, ChannelState.UP)
        assert found is not None
        extension, line = found
        assert extension == "102"
        assert (line.state, line.role) == (LineState.CONFIRMED, Role.RECIPIENT)
        assert line.local_tag == session.local_tag  # the callee's tag, from its 200
        assert line.remote_tag == call.request.from_addr.tag
        assert line.remote == f"sip:101@{HOST}"
        assert line_of(channel, ChannelState.HUNGUP)[1].state == LineState.TERMINATED
    finally:
        rtp.close()


def _line(state: LineState, role: Role) -> Line:
    return Line("x", state, role, "c", "", "", "", "")


def test_activity_answered_wins_then_ringing_then_calling_out() -> None:
    early_in = _line(LineState.EARLY, Role.RECIPIENT)
    trying_out = _line(LineState.TRYING, Role.INITIATOR)
    up = _line(LineState.CONFIRMED, Role.INITIATOR)
    ended = _line(LineState.TERMINATED, Role.RECIPIENT)
    assert activity(()) == Activity.AVAILABLE
    assert activity((ended,)) == Activity.AVAILABLE
    assert activity((early_in,)) == Activity.RINGING
    assert activity((trying_out,)) == Activity.ON_THE_PHONE
    assert activity((early_in, up)) == Activity.ON_THE_PHONE
    assert activity((trying_out, early_in)) == Activity.RINGING
