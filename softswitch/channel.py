"""A channel: one call leg, i.e. an INVITE dialog plus the RTP session anchored in the switch."""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import numpy as np

from media.session import RtpSession

from .leg_srtp import LegSrtp, usable_key
from .sip import sdp
from .sip.dialog import DialogState
from .sip.errors import SipError
from .sip.invite import IncomingInvite, InviteSession, OutgoingInvite
from .sip.transaction import ServerTransaction

log = logging.getLogger("softswitch.channel")

# Trunks (and every leg the config gives no other list) speak G.711 only.
G711 = ("PCMU", "PCMA")


class ChannelState(StrEnum):
    """Where a call leg is; the values are what live_calls shows as a channel's state."""

    DOWN = "down"  # created, nothing heard from the far end yet
    RINGING = "ringing"
    EARLY = "early"  # ringing with early media (183 with SDP)
    UP = "up"  # answered
    HUNGUP = "hungup"  # released, for whatever reason; final


@dataclass(slots=True)
class ChannelEvent:
    channel: Channel
    state: ChannelState
    cause: str = ""
    status: int = 0


Listener = Callable[[ChannelEvent], None]
# A key the party pressed: RFC 4733 event or SIP INFO (in-band tones are the media's job)
DigitHandler = Callable[[str], None]


class Direction(StrEnum):
    INBOUND = "inbound"  # they called us
    OUTBOUND = "outbound"  # we called them


class EndpointKind(StrEnum):
    EXTENSION = "extension"  # one of our registered users
    TRUNK = "trunk"  # a carrier
    CONFERENCE = "conference"  # a conference room (a route's kind: the switch answers)


class Joint(Protocol):
    """The bridge a channel is in, as the channel's users see it (softswitch.bridge.Bridge).

    A channel holds it without knowing the class, so bridge.py imports channel.py and
    not the other way round.
    """

    @property
    def a(self) -> Channel: ...

    @property
    def b(self) -> Channel: ...

    @property
    def detached(self) -> bool: ...

    # (what a said, what b said) once per tick: a recorder (softswitch.bridge.Tap)
    tap: Callable[[np.ndarray | None, np.ndarray | None], None] | None

    def other(self, channel: Channel) -> Channel: ...

    def stop(self, *, detach: bool = False) -> None: ...

    def hold_changed(self) -> None:
        """One of its parties put the call on hold or took it off (re-INVITE)."""


class ChannelNamer:
    """Asterisk-style names (``SIP/101-0000023c``): endpoint plus a per-process sequence.

    ``start``: the first number. The nodes of a cluster start at random points of the
    32-bit range, so that names (what modify_call takes) stay apart across nodes."""

    def __init__(self, start: int = 1) -> None:
        self._counter = itertools.count(start)

    def __call__(self, endpoint: str) -> str:
        return f"SIP/{endpoint}-{next(self._counter):08x}"


@dataclass(slots=True)
class Endpoint:
    """Who is at the far end of a channel."""

    kind: EndpointKind
    name: str  # the extension number or the trunk name
    number: str  # the number dialed or calling


class Channel:
    def __init__(
        self,
        name: str,
        direction: Direction,
        endpoint: Endpoint,
        session: InviteSession,
        rtp: RtpSession,
        advertised: str,
        session_id: int | None = None,
        srtp: LegSrtp | None = None,
        codecs: tuple[str, ...] = G711,
    ) -> None:
        self.name = name
        # what this leg offers and accepts, in order of preference (SDP names, upper case;
        # an extension may be limited to some: softswitch.store.extension_settings)
        self.codecs = codecs
        self.direction = direction
        self.endpoint = endpoint
        self.session = session
        self.rtp = rtp
        self.advertised = advertised
        self.srtp = srtp if srtp is not None else LegSrtp()
        self.state = ChannelState.DOWN
        self.cause = ""
        self.status = 0
        self.created_at = time.time()
        self.answered_at: float | None = None
        self.ended_at: float | None = None
        self._bridged: Channel | None = None
        self._bridge: Joint | None = None
        self.dtmf_inputs: list[str] = []  # digits this party pressed while bridged
        self.media: sdp.Negotiated | None = None
        # this party put the call on hold (its offer was sendonly/inactive or c=0.0.0.0):
        # the other party hears music on hold instead of it
        self.holding = False
        self._listeners: list[Listener] = []
        self._sdp_version = 1
        # the last offer answered and our answer: a session refresh (RFC 4028) repeats the
        # offer unchanged and gets the same answer, version and all (RFC 3264 8)
        self._last_answer: tuple[bytes, bytes] | None = None
        self._session_id = session_id if session_id is not None else secrets.randbelow(2**31)
        self.hungup: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        # what a REFER from this party does (the switch's transfers); None: 405
        self.on_refer: Callable[[Channel, ServerTransaction], None] | None = None
        # the INVITEs ringing this leg's devices while it is being set up (softswitch.forking)
        self.forks: list[InviteSession] = [session]
        # the offers this leg's INVITEs carry, as built: the answer is read against one
        # of them (take_answer) without parsing our own SDP back
        self._offers: dict[bytes, sdp.SessionDescription] = {}
        self._hook(session)

    def _hook(self, session: InviteSession) -> None:
        session.on_remote_bye = lambda cause: self._ended(cause, 0, by_remote=True)
        session.on_reoffer = self._reoffer
        # its session timer ran out or a refresh failed: the session sends the BYE
        session.on_session_end = lambda cause: self._ended(cause, 0)
        session.on_answer = self._answered
        session.on_refer = self._refer

    def adopt(self, session: InviteSession) -> None:
        """Make the fork that answered this leg's dialog."""
        if session is self.session:
            return
        old = self.session
        session.on_info_digit = old.on_info_digit
        # a losing fork that still ends in a BYE (its 2xx crossed our CANCEL) is not this leg's
        _unhook(old)
        self.session = session
        self._hook(session)

    def use_rtp(self, rtp: RtpSession) -> None:
        """Take another of this leg's RTP sessions (a fork of the other IP family
        answered); the one left is closed by whoever opened it."""
        if rtp is not self.rtp:
            rtp.on_dtmf = self.rtp.on_dtmf
            self.rtp = rtp

    def __repr__(self) -> str:
        return f"<Channel {self.name} {self.state}>"

    @property
    def call_id(self) -> str:
        return self.session.request.call_id if hasattr(self.session, "request") else ""

    # -- bridging -----------------------------------------------------------

    @property
    def bridge(self) -> Joint | None:
        """The bridge this channel is in, if any."""
        return self._bridge

    @property
    def bridged(self) -> Channel | None:
        """The party this channel is bridged to, if any."""
        return self._bridged

    def listen_digits(self, handler: DigitHandler | None) -> None:
        """Where the keys this party presses go (RFC 4733 and SIP INFO); None: nowhere."""
        self.rtp.on_dtmf = handler
        self.session.on_info_digit = handler

    def join(self, joint: Joint, peer: Channel, on_digit: DigitHandler) -> None:
        """Enter ``joint`` facing ``peer``; the keys pressed are kept in dtmf_inputs."""
        self._bridge = joint
        self._bridged = peer

        def pressed(digit: str) -> None:
            self.dtmf_inputs.append(digit)
            on_digit(digit)

        self.listen_digits(pressed)

    def leave(self, joint: Joint) -> None:
        """Leave ``joint``; a bridge joined since (a transfer) is left alone."""
        self.listen_digits(None)
        if self._bridged is joint.other(self):
            self._bridged = None
        if self._bridge is joint:
            self._bridge = None

    # -- events -------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _set_state(self, state: ChannelState, cause: str = "", status: int = 0) -> None:
        if self.state == state or self.state == ChannelState.HUNGUP:
            return
        self.state = state
        if log.isEnabledFor(logging.INFO):  # its arguments cost more than the check
            log.info(
                "channel %s call_id=%s state=%s%s",
                self.name,
                self.call_id,
                state,
                f" cause={cause!r}" if cause else "",
            )
        event = ChannelEvent(self, state, cause, status)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("channel listener failed")

    async def wait(self, state: ChannelState, timeout: float | None = None) -> ChannelEvent | None:
        """Wait until the channel reaches ``state`` (or hangs up first: returns None)."""
        if self.state == state:
            return ChannelEvent(self, state, self.cause, self.status)
        future: asyncio.Future[ChannelEvent | None] = asyncio.get_running_loop().create_future()

        def listener(event: ChannelEvent) -> None:
            if future.done():
                return
            if event.state == state:
                future.set_result(event)
            elif event.state == ChannelState.HUNGUP:
                future.set_result(None)

        self.add_listener(listener)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            if listener in self._listeners:  # a hang-up let go of every listener
                self._listeners.remove(listener)

    # -- media negotiation --------------------------------------------------

    def offer(self) -> bytes:
        return sdp.make_offer(
            self.advertised,
            self.rtp.local_port,
            codecs=self.codecs,
            session_id=self._session_id,
            version=self._sdp_version,
            srtp=self.srtp.mode,
            keys=self.srtp.key_params,
        ).to_bytes()

    def answer_offer(self, body: bytes) -> bytes:
        """Our answer to their offer; points the RTP session at them. Raises SipError."""
        offer = sdp.SessionDescription.parse(body)
        answer, negotiated = sdp.make_answer(
            offer,
            self.advertised,
            self.rtp.local_port,
            codecs=self.codecs,
            session_id=self._session_id,
            version=self._sdp_version,
            srtp=self.srtp.mode,
            keys=self.srtp.key_params,
            usable=usable_key,
        )
        self._apply(negotiated)
        answered = answer.to_bytes()
        self._last_answer = (body, answered)
        return answered

    def offered(self, body: bytes, description: sdp.SessionDescription) -> None:
        """``body`` is ``description`` serialised, sent as an offer for this leg."""
        self._offers[body] = description

    def take_answer(self, offer_body: bytes, answer_body: bytes) -> None:
        offer = self._offers.get(offer_body)
        negotiated = sdp.negotiated_from_answer(
            offer if offer is not None else sdp.SessionDescription.parse(offer_body),
            sdp.SessionDescription.parse(answer_body),
            srtp=self.srtp.mode,
            usable=usable_key,
        )
        self._apply(negotiated)

    def _apply(self, negotiated: sdp.Negotiated) -> None:
        """Point the RTP session at the negotiated media; SdpError (488) if it cannot be.

        An address the leg's socket cannot send to (an IPv6 c= on an IPv4 socket, a host
        name) is refused here, at negotiation, instead of failing on every packet.
        """
        try:
            self.rtp.set_remote(
                negotiated.address,
                negotiated.port,
                negotiated.codec,
                negotiated.payload_type,
                negotiated.dtmf_payload_type,
            )
        except ValueError as exc:
            raise sdp.SdpError(str(exc)) from exc
        self.media = negotiated
        self.rtp.direction = negotiated.direction
        # ours is the mirror of theirs: they offered sendonly/inactive, we do not send
        self.holding = negotiated.direction in ("recvonly", "inactive")
        self.rtp.srtp = self.srtp.context(negotiated.crypto)

    def _reoffer(self, body: bytes) -> bytes:
        # hold/unhold or a new media address (re-INVITE, UPDATE)
        if self._last_answer is not None and self._last_answer[0] == body:
            return self._last_answer[1]  # the same offer again: a session refresh
        self._sdp_version += 1
        was_holding = self.holding
        answer = self.answer_offer(body)
        if self.holding != was_holding and self._bridge is not None:
            self._bridge.hold_changed()
        log.info(
            "channel %s re-INVITE: direction=%s remote=%s:%s",
            self.name,
            self.rtp.direction,
            self.media.address if self.media else "?",
            self.media.port if self.media else "?",
        )
        return answer

    def _answered(self, offer: bytes, answer: bytes) -> None:
        # the answer to an offer our session sent (a session refresh repeats our SDP)
        try:
            self.take_answer(offer, answer)
        except SipError as exc:
            log.warning("channel %s: bad SDP in a refresh answer: %s", self.name, exc)

    def _refer(self, st: ServerTransaction) -> None:
        if self.on_refer is None:
            st.respond(self.session.ua.response(st.request, 405, "Method Not Allowed"))
            return
        self.on_refer(self, st)

    # -- lifecycle ----------------------------------------------------------

    def ringing(self, early_media: bool = False) -> None:
        self._set_state(ChannelState.EARLY if early_media else ChannelState.RINGING)

    def up(self) -> None:
        self.answered_at = time.time()
        self._set_state(ChannelState.UP)

    async def hangup(self, cause: str = "normal clearing", status: int = 0) -> None:
        """Release this leg: BYE, CANCEL or a final response, whichever fits its state.

        The channel is hung up at once; the signaling that tells the peer may take a
        while (a BYE nobody answers lasts 32 s) and nobody needs to wait for it.
        """
        if self.state == ChannelState.HUNGUP:
            return
        session = self.session
        self._ended(cause, status)
        try:
            if isinstance(session, IncomingInvite) and session.state == DialogState.EARLY:
                session.reject(status or 480, None)
            else:
                if isinstance(session, OutgoingInvite) and session.state == DialogState.EARLY:
                    mine = session.cancel()
                else:
                    mine = session.hangup(cause)
                # devices still ringing for this leg (the first one may have failed already)
                others = [
                    fork.cancel()
                    for fork in self.forks
                    if fork is not session and isinstance(fork, OutgoingInvite)
                ]
                await asyncio.gather(mine, *others)
        except SipError as exc:
            log.info("channel %s: hangup: %s", self.name, exc)

    def _ended(self, cause: str, status: int, by_remote: bool = False) -> None:
        if self.state == ChannelState.HUNGUP:
            return
        self.cause = cause
        self.status = status
        self.ended_at = time.time()
        self.rtp.close()
        self._set_state(ChannelState.HUNGUP, cause, status)
        if not self.hungup.done():
            self.hungup.set_result(cause)
        # A hung-up leg hears nothing more from its dialogs. An OutgoingInvite stays
        # reachable for 64*T1 after its 2xx (to ACK and BYE other forks' 2xx, RFC 6026):
        # without this it would keep the whole call (this channel, the bridge, the RTP
        # sessions' buffers) alive that long, ~60 KB and hundreds of objects per call
        # for the collector to walk at every collection.
        for fork in self.forks:
            _unhook(fork)
        _unhook(self.session)
        self._listeners = []  # told of HUNGUP above, the last event a channel has

    def failed(self, cause: str, status: int) -> None:
        self._ended(cause, status)


def _unhook(session: InviteSession) -> None:
    """Let go of the callbacks a channel set on ``session`` (``Channel._hook``)."""
    session.on_info_digit = session.on_remote_bye = session.on_reoffer = None
    session.on_refer = session.on_session_end = session.on_answer = None
    if isinstance(session, OutgoingInvite):
        session.on_provisional = None  # the switch's ringing handler, closing over the leg
    elif isinstance(session, IncomingInvite):
        session.on_cancel = session.on_prack_timeout = None


@dataclass(slots=True)
class Registry:
    """The live channels of the switch, by name."""

    channels: dict[str, Channel] = field(default_factory=dict)
    # told of every channel added (in its state then) and of each change after: the
    # one place that sees every leg's life (the busy lamps, softswitch.presence)
    observers: list[Listener] = field(default_factory=list)

    def add(self, channel: Channel) -> None:
        self.channels[channel.name] = channel
        channel.add_listener(self._forget)
        for observer in self.observers:
            channel.add_listener(observer)
            try:
                observer(ChannelEvent(channel, channel.state))
            except Exception:
                log.exception("channel observer failed")

    def _forget(self, event: ChannelEvent) -> None:
        if event.state == ChannelState.HUNGUP:
            self.channels.pop(event.channel.name, None)

    def __iter__(self) -> Iterator[Channel]:
        return iter(list(self.channels.values()))

    def __len__(self) -> int:
        return len(self.channels)

    def get(self, name: str) -> Channel | None:
        return self.channels.get(name)
