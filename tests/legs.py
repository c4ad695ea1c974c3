"""Call legs for unit tests: a real Channel whose far end is a real RtpSession (the phone).

The channel's INVITE is built by a real UserAgent on loopback but never sent: the
tests here are about media and the channel's own state, e2e covers the signaling.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import numpy as np

from media.ports import PortAllocator
from media.session import RtpSession
from softswitch.channel import Channel, ChannelNamer, Direction, Endpoint, EndpointKind
from softswitch.sip import sdp
from softswitch.sip.address import Address
from softswitch.sip.invite import OutgoingInvite
from softswitch.sip.transport import Peer
from softswitch.sip.ua import UserAgent
from softswitch.sip.uri import SipUri

HOST = "127.0.0.1"


@dataclass
class Leg:
    channel: Channel
    phone: RtpSession  # the far end of the channel's media


class Legs:
    """Makes legs on one loopback UserAgent and one port range; closes what it made."""

    def __init__(self, ua: UserAgent, ports: PortAllocator) -> None:
        self.ua = ua
        self.ports = ports
        self.name = ChannelNamer()
        self.phones: list[RtpSession] = []

    async def channel(self, number: str = "101") -> Channel:
        """A channel whose media is not negotiated yet."""
        rtp = await RtpSession.open(HOST, self.ports)
        uri = SipUri("sip", number, HOST, 5999)
        invite = OutgoingInvite(
            self.ua,
            uri=uri,
            from_addr=Address(SipUri("sip", "100", HOST, self.ua.port)),
            to_addr=Address(uri),
            peer=Peer("UDP", HOST, 5999),
            body=b"",
        )
        endpoint = Endpoint(EndpointKind.EXTENSION, number, number)
        return Channel(self.name(number), Direction.OUTBOUND, endpoint, invite, rtp, HOST)

    async def leg(self, number: str = "101", codecs: tuple[str, ...] = ("PCMU", "PCMA")) -> Leg:
        """A channel that offered, and a phone that answered (the first of `codecs`,
        telephone-event)."""
        channel = await self.channel(number)
        channel.codecs = codecs
        phone = await RtpSession.open(HOST, self.ports)
        self.phones.append(phone)
        offer = channel.offer()
        parsed = sdp.SessionDescription.parse(offer)
        answer, negotiated = sdp.make_answer(
            parsed, HOST, phone.local_port, codecs=codecs, session_id=7
        )
        phone.set_remote(
            negotiated.address,
            negotiated.port,
            negotiated.codec,
            negotiated.payload_type,
            negotiated.dtmf_payload_type,
        )
        channel.take_answer(offer, answer.to_bytes())
        channel.up()
        return Leg(channel, phone)

    def close(self) -> None:
        for phone in self.phones:
            phone.close()


@asynccontextmanager
async def legs(ports: PortAllocator) -> AsyncIterator[Legs]:
    ua = UserAgent(HOST, 0, lambda st: None)
    await ua.start()
    made = Legs(ua, ports)
    try:
        yield made
    finally:
        made.close()
        await ua.stop()


def info_digit(channel: Channel, digit: str) -> None:
    """A key pressed as a SIP INFO, handed over as the INVITE dialog hands it."""
    hook = channel.session.on_info_digit
    assert hook is not None, "nobody listens to the channel's keys"
    hook(digit)


def tone(n: int, amplitude: int = 8000) -> np.ndarray:
    """A distinct 20 ms frame per n (a sine whose pitch depends on n)."""
    t = np.arange(160) + 160 * n
    return (np.sin(2 * np.pi * (300 + 50 * n) * t / 8000) * amplitude).astype(np.int16)


async def until(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.002)
