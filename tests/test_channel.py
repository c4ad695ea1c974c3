"""Channel: SDP to RTP, the state machine and its listeners, joining and leaving a bridge."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from media.ports import PortAllocator
from media.session import RtpSession
from softswitch.bridge import Tap
from softswitch.channel import Channel, ChannelEvent, ChannelNamer, ChannelState, Registry
from tests.legs import HOST, Legs, info_digit, legs, tone, until


@pytest.fixture
async def made() -> AsyncIterator[Legs]:
    async with legs(PortAllocator(30000, 30999)) as made:
        yield made


class FakeJoint:
    """The least a bridge is to a channel (softswitch.channel.Joint)."""

    def __init__(self, a: Channel, b: Channel) -> None:
        self.a, self.b = a, b
        self.detached = False
        self.tap: Tap | None = None

    def other(self, channel: Channel) -> Channel:
        return self.b if channel is self.a else self.a

    def stop(self, *, detach: bool = False) -> None:
        pass


def test_names_count_up_per_process() -> None:
    name = ChannelNamer()
    assert name("101") == "SIP/101-00000001"
    assert name("carrier") == "SIP/carrier-00000002"


async def test_answer_points_rtp_at_the_far_end(made: Legs) -> None:
    leg = await made.leg()
    assert leg.channel.media is not None
    assert (leg.channel.media.address, leg.channel.media.port) == (HOST, leg.phone.local_port)
    assert leg.channel.media.codec == "PCMU" and leg.channel.media.dtmf_payload_type == 101
    leg.channel.rtp.write_frame(tone(1))
    await until(lambda: leg.phone.packets_received == 1)


async def test_their_offer_is_answered_and_a_reoffer_bumps_the_version(made: Legs) -> None:
    ours = await made.channel()
    theirs = await made.channel("102")
    answer = ours.answer_offer(theirs.offer())
    assert f"m=audio {ours.rtp.local_port} ".encode() in answer
    assert ours.rtp.remote == (HOST, theirs.rtp.local_port)
    reoffer = ours.session.on_reoffer  # what a re-INVITE calls
    assert reoffer is not None
    again = reoffer(theirs.offer().replace(b"a=sendrecv", b"a=sendonly"))
    assert b"a=recvonly" in again and ours.rtp.direction == "recvonly"
    version = lambda body: body.split(b"o=")[1].split(b"\r\n")[0].split()[2]  # noqa: E731
    assert int(version(again)) == int(version(answer)) + 1
    # a session refresh repeats the offer unchanged: same answer, same version (RFC 3264 8)
    held = theirs.offer().replace(b"a=sendrecv", b"a=sendonly")
    assert reoffer(held) == again
    assert reoffer(theirs.offer()) != again  # back off hold: a new answer, the next version


async def test_states_reach_listeners_in_order_and_hungup_is_final(made: Legs) -> None:
    channel = await made.channel()
    seen: list[ChannelState] = []
    channel.add_listener(lambda event: seen.append(event.state))
    channel.ringing()
    channel.ringing()  # the same state twice is one event
    channel.ringing(early_media=True)
    channel.up()
    channel.failed("busy", 486)
    channel.up()  # nothing after hungup
    assert seen == [ChannelState.RINGING, ChannelState.EARLY, ChannelState.UP, ChannelState.HUNGUP]
    assert (channel.cause, channel.status) == ("busy", 486)
    assert channel.hungup.result() == "busy"
    assert channel.rtp.closed and channel.answered_at and channel.ended_at


async def test_a_failing_listener_does_not_stop_the_others(made: Legs) -> None:
    channel = await made.channel()
    seen: list[ChannelEvent] = []

    def broken(event: ChannelEvent) -> None:
        raise RuntimeError("listener bug")

    channel.add_listener(broken)
    channel.add_listener(seen.append)
    channel.up()
    assert [e.state for e in seen] == [ChannelState.UP]


async def test_wait_returns_the_event_or_none_when_the_channel_hangs_up(made: Legs) -> None:
    channel = await made.channel()
    answered = asyncio.ensure_future(channel.wait(ChannelState.UP))
    await asyncio.sleep(0)
    channel.up()
    event = await answered
    assert event is not None and event.channel is channel and event.state == ChannelState.UP
    assert (await channel.wait(ChannelState.UP)) is not None  # already there

    other = await made.channel("102")
    ringing = asyncio.ensure_future(other.wait(ChannelState.UP, timeout=2))
    await asyncio.sleep(0)
    other.failed("no answer", 408)
    assert await ringing is None
    with pytest.raises(TimeoutError):
        await (await made.channel("103")).wait(ChannelState.UP, timeout=0.05)


async def test_join_shows_the_party_and_keeps_the_digits_pressed(made: Legs) -> None:
    a, b = await made.leg("101"), await made.leg("102")
    joint = FakeJoint(a.channel, b.channel)
    relayed: list[str] = []
    a.channel.join(joint, b.channel, relayed.append)
    assert a.channel.bridge is joint and a.channel.bridged is b.channel
    a.phone.send_dtmf("7")
    await until(lambda: relayed == ["7"])
    assert a.channel.dtmf_inputs == ["7"]
    info_digit(a.channel, "#")  # as a SIP INFO would arrive
    assert relayed == ["7", "#"] and a.channel.dtmf_inputs == ["7", "#"]

    a.channel.leave(joint)
    assert a.channel.bridge is None and a.channel.bridged is None
    assert a.channel.rtp.on_dtmf is None and a.channel.session.on_info_digit is None


async def test_leaving_an_old_bridge_keeps_the_new_one(made: Legs) -> None:
    a, b, c = [await made.channel(n) for n in ("101", "102", "103")]
    old, new = FakeJoint(a, b), FakeJoint(a, c)
    a.join(old, b, lambda digit: None)
    a.join(new, c, lambda digit: None)  # transferred before the old bridge was stopped
    a.leave(old)
    assert a.bridge is new and a.bridged is c


async def test_registry_forgets_a_channel_that_hangs_up(made: Legs) -> None:
    registry = Registry()
    channel = await made.channel()
    registry.add(channel)
    assert registry.get(channel.name) is channel and len(registry) == 1
    assert list(registry) == [channel]
    channel.failed("gone", 0)
    assert registry.get(channel.name) is None and len(registry) == 0


async def test_a_hung_up_channel_lets_go_of_its_dialog_and_listeners(made: Legs) -> None:
    """The dialog outlives the leg (an OutgoingInvite answers other forks' 2xx for 64*T1):
    it must not keep the leg (and its call, bridge and RTP buffers) alive that long."""
    channel = await made.channel()
    heard: list[ChannelState] = []
    channel.add_listener(lambda event: heard.append(event.state))
    session = channel.session
    assert session.on_remote_bye is not None and session.on_reoffer is not None
    channel.failed("gone", 0)
    assert heard == [ChannelState.HUNGUP]  # told first, then let go
    assert session.on_remote_bye is None and session.on_reoffer is None
    assert session.on_session_end is None and session.on_answer is None
    assert session.on_refer is None and session.on_info_digit is None
    channel.failed("again", 0)
    assert heard == [ChannelState.HUNGUP]


async def test_registry_observers_see_every_channel_from_its_creation(made: Legs) -> None:
    seen: list[tuple[str, ChannelState]] = []

    def broken(event: ChannelEvent) -> None:
        raise RuntimeError("an observer's bug")

    registry = Registry(observers=[broken, lambda e: seen.append((e.channel.name, e.state))])
    channel = await made.channel()
    registry.add(channel)  # the broken observer is logged, the others still told
    channel.ringing()
    channel.up()
    channel.failed("gone", 0)
    assert seen == [
        (channel.name, ChannelState.DOWN),
        (channel.name, ChannelState.RINGING),
        (channel.name, ChannelState.UP),
        (channel.name, ChannelState.HUNGUP),
    ]


async def test_the_fork_that_answers_takes_over_the_dialog_hooks(made: Legs) -> None:
    channel = await made.channel()
    first = channel.session
    second = (await made.channel("101")).session  # another device's INVITE
    channel.forks = [first, second]
    relayed: list[str] = []
    channel.listen_digits(relayed.append)
    channel.adopt(second)
    assert channel.session is second
    assert second.on_info_digit is not None and second.on_remote_bye is not None
    assert first.on_info_digit is None and first.on_remote_bye is None
    assert second.on_info_digit is not None
    second.on_info_digit("3")
    assert relayed == ["3"]
    assert second.on_remote_bye is not None
    second.on_remote_bye("normal clearing")  # the answering device hangs up
    assert channel.state == ChannelState.HUNGUP and channel.cause == "normal clearing"


async def test_use_rtp_takes_the_answering_forks_session_with_the_digit_listener(
    made: Legs,
) -> None:
    channel = await made.channel()
    heard: list[str] = []
    channel.listen_digits(heard.append)
    other = await RtpSession.open("::1", made.ports)
    try:
        first = channel.rtp
        channel.use_rtp(other)
        assert channel.rtp is other and other.on_dtmf is not None
        other.on_dtmf("5")
        assert heard == ["5"]
        assert not first.closed  # the one who opened it closes it
        channel.use_rtp(other)  # the same one again: nothing changes
        assert channel.rtp is other
        first.close()
    finally:
        other.close()
