"""Transfers a phone asks for with REFER (RFC 3515) in the dialog of its call.

Blind (``Refer-To: <sip:103@switch>``): the party the referrer is talking to (the
transferee) leaves the referrer's bridge and hears the music on hold while the switch
calls the target for it (the referrer's phone may hang up as soon as it has the 202);
when the target answers, the transferee is bridged with it and the referrer is released
with a BYE. A target that does not answer gives the two parties back to each other. Attended
(``Refer-To`` with ``?Replaces=`` naming the referrer's consultation call): the
transferee takes the place of the referrer's leg on that call (softswitch.replacement)
and both of the referrer's legs are released. Semi-attended (the Replaces names a
consultation call the referrer placed that still rings, as phones send when the transfer
key is pressed before the target answers): the referrer's call attempt is ended (487)
and the transferee waits for the ringing target as in a blind transfer.

The referrer hears how it went in NOTIFYs (softswitch.sip.refer). A target no route
leads to, or one that does not answer, ends the subscription with that status and the
original call goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from media.moh import MohSource

from .bridge import Bridge, Tap
from .channel import Channel, ChannelState, Endpoint, Joint
from .replacement import MakeBridge, ReplaceRefused, Spawn, link
from .sip.errors import SipParseError
from .sip.message import reason_phrase
from .sip.refer import ReferSubscription, ReferTo
from .sip.replaces import Replaces
from .sip.transaction import ServerTransaction

log = logging.getLogger("softswitch.transfer")

# Dial a number for a transfer with a caller ID: the new channel, or the SIP status
# that says why it cannot be dialed (404 no route, 480 not registered, ...)
Dial = Callable[[str, str], Awaitable[Channel | int]]
# The live, bridged channel on the dialog a Replaces names (ReplaceRefused if none)
FindReplaced = Callable[[Replaces], Channel]
# The leg still ringing for a call whose caller's (early) dialog a Replaces names, that
# caller's INVITE ended so that someone else may wait for the leg; None if no such call,
# ReplaceRefused when the caller is not the endpoint given (a phone hands over only its
# own calls)
TakeRinging = Callable[[Replaces, Endpoint], Channel | None]
# Told of each finished transfer: (referrer, transferee, target)
Transferred = Callable[[Channel, Channel, Channel], None]

NOTIFY_WAIT = 2.0  # seconds the final NOTIFY may take before the referrer gets its BYE
# seconds a referrer told 200 has to hang up itself before the switch sends the BYE: phones
# hang up on that NOTIFY (RFC 5589's flows), and a BYE of ours sent at the same moment
# crosses theirs, which then gets 481 for a dialog already gone
RELEASE_WAIT = 2.0


class Transfers:
    def __init__(
        self,
        dial: Dial,
        make_bridge: MakeBridge,
        spawn: Spawn,
        find_replaced: FindReplaced,
        music: Callable[[], MohSource | None] = lambda: None,
        on_transferred: Transferred | None = None,
        release_wait: float = RELEASE_WAIT,
        take_ringing: TakeRinging = lambda replaces, owner: None,
    ) -> None:
        self.dial = dial
        self.make_bridge = make_bridge
        self.spawn = spawn
        self.find_replaced = find_replaced
        self.music = music  # what the transferee hears while the target rings
        self.on_transferred = on_transferred
        self.release_wait = release_wait
        self.take_ringing = take_ringing

    def refer(self, referrer: Channel, st: ServerTransaction) -> None:
        """A REFER from ``referrer``'s phone in its call's dialog."""
        request = st.request
        ua = referrer.session.ua
        dialog = referrer.session.dialog
        tag = dialog.local_tag if dialog is not None else None
        try:
            refer_to = ReferTo.of(request)
        except SipParseError as exc:
            st.respond(ua.response(request, 400, f"Bad Request ({exc})", to_tag=tag))
            return
        joint = referrer.bridge
        if joint is None or referrer.state != ChannelState.UP:
            # playing a prompt, in a flow, in a conference: nobody to hand over
            st.respond(ua.response(request, 403, "Call Not Bridged", to_tag=tag))
            return
        transferee = joint.other(referrer)
        st.respond(ua.response(request, 202, "Accepted", to_tag=tag))
        subscription = ReferSubscription(referrer.session, request)
        subscription.notify(100, "Trying")
        log.info(
            "channel %s refers %s to %s%s",
            referrer.name,
            transferee.name,
            refer_to.uri,
            " (Replaces)" if refer_to.replaces else "",
        )
        if refer_to.replaces is not None:
            self._attended(referrer, transferee, refer_to.replaces, subscription)
        else:
            self.spawn(self._blind(referrer, transferee, refer_to, subscription))

    async def _blind(
        self,
        referrer: Channel,
        transferee: Channel,
        refer_to: ReferTo,
        subscription: ReferSubscription,
    ) -> None:
        number = refer_to.uri.user or ""
        dialed = await self.dial(number, transferee.endpoint.number)
        if isinstance(dialed, int):
            log.info("channel %s: transfer to %r refused: %d", referrer.name, number, dialed)
            subscription.notify(dialed, reason_phrase(dialed))
            return
        await self._await_target(referrer, transferee, dialed, subscription)

    async def _await_target(
        self,
        referrer: Channel,
        transferee: Channel,
        target: Channel,
        subscription: ReferSubscription,
    ) -> None:
        """The transferee waits for ``target``, ringing, in place of the referrer."""
        joint = referrer.bridge
        if joint is None or joint.other(referrer) is not transferee:
            # the referrer's call moved on meanwhile (hung up, transferred elsewhere)
            await target.hangup("transfer gone")
            subscription.notify(487, "Request Terminated")
            return
        # From now on the transferee waits for the target, not for the referrer, whose
        # phone may hang up as soon as it has the 202: it hears the music on hold.
        tap = _tap_of(joint)
        parties = (joint.a, joint.b)
        joint.stop(detach=True)
        music = self.music()
        if music is not None:
            music.add(transferee.rtp)
        try:
            answered = asyncio.ensure_future(target.wait(ChannelState.UP))
            gone = asyncio.ensure_future(asyncio.shield(transferee.hungup))
            first: set[asyncio.Future[Any]] = {answered, gone}
            await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
            gone.cancel()
        finally:
            if music is not None:
                music.remove(transferee.rtp)
        if not answered.done() or answered.result() is None:
            answered.cancel()
            if target.state != ChannelState.HUNGUP:
                await target.hangup("transferee gone")
                subscription.notify(487, "Request Terminated")
            else:
                status = target.status or 480
                subscription.notify(status, reason_phrase(status))
            self._back_together(*parties, tap=tap)
            return
        self._hand_over(referrer, transferee, target, tap, parties)
        await subscription.notify_and_wait(200, "OK", NOTIFY_WAIT)
        await self._release_referrer(referrer)

    def _back_together(self, a: Channel, b: Channel, *, tap: Tap | None) -> None:
        """The target did not answer: the two parties talk again, or the one still there
        is released."""
        up = [c for c in (a, b) if c.state == ChannelState.UP]
        if len(up) == 2:
            link(self.make_bridge(a, b, tap=tap), self.spawn)
        for channel in up if len(up) == 1 else ():
            self.spawn(channel.hangup("transfer failed"))

    def _attended(
        self,
        referrer: Channel,
        transferee: Channel,
        replaces: Replaces,
        subscription: ReferSubscription,
    ) -> None:
        try:
            ringing = self.take_ringing(replaces, referrer.endpoint)
            if ringing is not None:  # semi-attended: the consultation call still rings
                log.info(
                    "channel %s: %s takes over the ringing %s",
                    referrer.name,
                    transferee.name,
                    ringing.name,
                )
                self.spawn(self._await_target(referrer, transferee, ringing, subscription))
                return
            replaced = self.find_replaced(replaces)
            if not same_party(replaced.endpoint, referrer.endpoint):
                raise ReplaceRefused(403, "Not Your Call")
        except ReplaceRefused as exc:
            log.info("channel %s: Replaces refused: %d %s", referrer.name, exc.status, exc.reason)
            subscription.notify(exc.status, exc.reason)
            return
        joint = replaced.bridge
        if replaced is referrer or joint is None:
            subscription.notify(481, "Call/Transaction Does Not Exist")
            return
        target = joint.other(replaced)  # the party of the consultation call
        joint.stop(detach=True)
        own = referrer.bridge
        tap = _tap_of(own) if own is not None else None
        parties = (own.a, own.b) if own is not None else (transferee, referrer)
        if own is not None:
            own.stop(detach=True)
        self._hand_over(referrer, transferee, target, tap, parties)
        self.spawn(self._release(subscription, referrer, replaced))

    async def _release(
        self, subscription: ReferSubscription, referrer: Channel, consulting: Channel
    ) -> None:
        await subscription.notify_and_wait(200, "OK", NOTIFY_WAIT)
        # the consultation call is ours to end (RFC 3891: the replaced dialog gets a BYE)
        await asyncio.gather(self._release_referrer(referrer), consulting.hangup("transferred"))

    async def _release_referrer(self, referrer: Channel) -> None:
        """Let the referrer's phone hang up its call, as it does on the final NOTIFY;
        release it with a BYE only when it has not after ``release_wait``."""
        try:
            await asyncio.wait_for(asyncio.shield(referrer.hungup), self.release_wait)
        except TimeoutError:
            await referrer.hangup("transferred")

    def _hand_over(
        self,
        referrer: Channel,
        transferee: Channel,
        target: Channel,
        tap: Tap | None,
        parties: tuple[Channel, Channel],
    ) -> None:
        """Bridge the transferee with the target in the referrer's place (the referrer's
        bridge, ``parties`` in its order, already taken apart), the call's recorder
        going on: the target takes the referrer's side of it (a recording's agent
        channel stays the agent's side)."""
        first, second = (target, transferee) if parties[0] is referrer else (transferee, target)
        bridge = self.make_bridge(first, second, tap=tap)
        link(bridge, self.spawn)
        log.info("channel %s transferred %s to %s", referrer.name, transferee.name, target.name)
        if self.on_transferred is not None:
            self.on_transferred(referrer, transferee, target)


def same_party(a: Endpoint, b: Endpoint) -> bool:
    """Whether two legs are calls of one party (the same extension or trunk): what a
    REFER's Replaces may name is a call of the referrer's own, never someone else's
    whose dialog identifiers it came to know."""
    return a.kind == b.kind and a.name == b.name


def _tap_of(joint: Joint) -> Tap | None:
    return joint.tap if isinstance(joint, Bridge) else None
