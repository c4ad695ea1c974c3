"""INVITE dialog usages: the signaling half of one call leg (RFC 3261 sections 13-15).

``IncomingInvite`` answers a received INVITE (UAS); ``OutgoingInvite`` places one (UAC).
Both then handle the confirmed dialog the same way: BYE either way, re-INVITE and UPDATE
offers (hold, new media address; RFC 3311 UPDATE also in the UAS's early dialog), INFO
digits, 2xx/ACK reliability, and session timers (RFC 4028, clock and negotiation in
``session_timer``): refreshes sent and received, a BYE when a refresh is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
from collections.abc import Callable, Iterable

from .address import Address
from .dialog import Dialog, DialogState
from .errors import SipError, SipParseError
from .headers import Headers
from .message import Request, Response, new_tag
from .reliable import (
    PrackMode,
    RAck,
    ReliableProvisionals,
    RSeqTracker,
    advertise,
    is_reliable,
    peer_stance,
)
from .session_timer import (
    EXPIRED_CAUSE,
    REFRESH_FAILED_CAUSE,
    TIMER,
    Agreement,
    IntervalTooSmall,
    Refresher,
    SessionTimer,
    TimerPolicy,
    agree_as_uac,
    agree_as_uas,
    allows_update,
    request_headers,
    retry_interval,
)
from .transaction import ClientTransaction, ServerTransaction, TransactionState
from .transport import Peer
from .ua import Credentials, UserAgent
from .uri import SipUri

log = logging.getLogger("softswitch.sip.invite")

_INFO_SIGNAL = re.compile(rb"Signal\s*=\s*([0-9A-Da-d*#])")


class InviteSession:
    """What both call directions share once a dialog exists."""

    def __init__(
        self,
        ua: UserAgent,
        transport: str = "UDP",
        peer_host: str | None = None,
        secure: bool = False,
    ) -> None:
        self.ua = ua
        self.transport = transport  # "UDP" | "TCP" | "TLS": how the dialog's peer is reached
        # where the other party is; Via and Contact name our address on the route there
        self.peer_host = peer_host
        self.secure = secure  # set up with a sips: Request-URI: our Contact is sips: too
        self.dialog: Dialog | None = None
        self.state: DialogState = DialogState.EARLY  # then CONFIRMED, then TERMINATED
        self.terminated: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        # remote hung up; the argument is the cause
        self.on_remote_bye: Callable[[str], None] | None = None
        # a re-INVITE offer: return the answer body (raise SipError -> 488)
        self.on_reoffer: Callable[[bytes], bytes] | None = None
        self.on_info_digit: Callable[[str], None] | None = None
        self.on_ack_answer: Callable[[bytes], None] | None = None
        # a REFER in this dialog (RFC 3515; softswitch.sip.refer): None answers 405
        self.on_refer: Callable[[ServerTransaction], None] | None = None
        self._pending_2xx: tuple[Response, Peer, int] | None = None
        self._retransmit: asyncio.TimerHandle | None = None
        self._give_up: asyncio.TimerHandle | None = None
        self._2xx_interval = 0.0  # the next wait between retransmissions of our 2xx
        self.credentials: Credentials | None = None  # for in-dialog requests a peer challenges
        self._ack: Request | None = None  # the ACK of our latest (re-)INVITE's 2xx
        # Session timers (RFC 4028) and offers we send in re-INVITE/UPDATE (RFC 3311);
        # None: this session does not negotiate timers (the library's default)
        self.timer_policy: TimerPolicy | None = None
        self.session_timer = SessionTimer(self._refresh_due, self._session_expired)
        # we ended the session (its timer ran out, a refresh failed); the argument is the cause
        self.on_session_end: Callable[[str], None] | None = None
        # the peer's answer to an offer we sent in a re-INVITE or UPDATE: (offer, answer)
        self.on_answer: Callable[[bytes, bytes], None] | None = None
        self.peer_allows_update = False  # its Allow lists UPDATE: refresh without SDP
        self.local_sdp = b""  # the session description we last sent (a refresh repeats it)
        self._offer_out = False  # we sent an offer that has no answer yet (glare: 491)
        self._refreshing: asyncio.Task[None] | None = None
        self._ending: asyncio.Task[None] | None = None

    def _contact(self) -> str:
        return self.ua.contact(None, self.transport, self.peer_host, secure=self.secure)

    @property
    def call_id(self) -> str:
        return self.dialog.call_id if self.dialog else ""

    # -- in-dialog requests -------------------------------------------------

    def on_request(self, st: ServerTransaction) -> None:
        request = st.request
        if self.dialog is None:
            # an early dialog we sent reliable 18x in (RFC 3262): only PRACK belongs here
            if request.method == "PRACK":
                self._on_prack(st)
            else:
                st.respond(self.ua.response(request, 481, "Call/Transaction Does Not Exist"))
            return
        if not self.dialog.accept_remote_cseq(request):
            st.respond(self.ua.response(request, 500, "CSeq Out of Order"))
            return
        method = request.method
        if method == "BYE":
            st.respond(self.ua.response(request, 200))
            self._end("remote BYE")
            if self.on_remote_bye:
                self.on_remote_bye("normal clearing")
        elif method == "INVITE":
            self._reinvite(st)
        elif method == "PRACK":
            self._on_prack(st)
        elif method == "UPDATE":
            self._update(st)
        elif method == "INFO":
            match = _INFO_SIGNAL.search(request.body)
            st.respond(self.ua.response(request, 200))
            if match and self.on_info_digit:
                self.on_info_digit(match.group(1).decode().upper())
        elif method == "OPTIONS":
            st.respond(self.ua.response(request, 200))
        elif method == "REFER" and self.on_refer is not None:
            self.on_refer(st)
        else:
            st.respond(self.ua.response(request, 405, "Method Not Allowed"))

    def _reinvite(self, st: ServerTransaction) -> None:
        request = st.request
        assert self.dialog is not None
        if self._pending_2xx is not None or self._offer_out:
            st.respond(self.ua.response(request, 491, "Request Pending"))
            return
        agreed, agreement = self._timer_check(st)
        if not agreed:
            return
        self.dialog.refresh_target(request)
        answer = b""
        if request.body and self.on_reoffer is not None:
            answered = self._reoffer_answer(st)
            if answered is None:
                return
            answer = answered
        response = self._refresh_ok(request, answer)
        self._timer_apply(agreement, response)
        st.respond(response)
        self._start_2xx_retransmission(response, st.peer, request.cseq[0], initial=False)

    def _reoffer_answer(self, st: ServerTransaction) -> bytes | None:
        """``on_reoffer``'s answer to the offer ``st`` carries; None once it refused the
        offer (488 sent)."""
        assert self.on_reoffer is not None
        try:
            answer = self.on_reoffer(st.request.body)
        except SipError as exc:
            st.respond(self.ua.response(st.request, 488, f"Not Acceptable Here ({exc})"))
            return None
        self.local_sdp = answer
        return answer

    def _refresh_ok(self, request: Request, answer: bytes) -> Response:
        """The 200 to a re-INVITE or UPDATE: our Contact (the target refreshed) and the
        SDP ``answer``, if any."""
        assert self.dialog is not None
        response = self.ua.response(request, 200, to_tag=self.dialog.local_tag)
        response.headers.add("Contact", self._contact())
        if answer:
            response.headers.add("Content-Type", "application/sdp")
            response.body = answer
        return response

    # -- UPDATE (RFC 3311) ----------------------------------------------------

    def _update(self, st: ServerTransaction) -> None:
        """An UPDATE: with SDP an offer (answered in the 200), without a refresh."""
        request = st.request
        assert self.dialog is not None
        if request.body and self._offer_out:
            # RFC 3311 5.2: our own offer is still unanswered
            st.respond(self.ua.response(request, 491, "Request Pending"))
            return
        if request.body and self._offer_unanswered():
            response = self.ua.response(request, 500, "Offer Still Unanswered")
            response.headers.add("Retry-After", str(random.randint(1, 10)))
            st.respond(response)
            return
        agreed, agreement = self._timer_check(st)
        if not agreed:
            return
        answer = b""
        if request.body:
            if self.on_reoffer is None:
                st.respond(self.ua.response(request, 488, "Not Acceptable Here"))
                return
            answered = self._reoffer_answer(st)
            if answered is None:
                return
            answer = answered
        self.dialog.refresh_target(request)
        response = self._refresh_ok(request, answer)  # UPDATE refreshes the target
        self._timer_apply(agreement, response)
        st.respond(response)

    def _offer_unanswered(self) -> bool:
        """An offer the peer made that we have not answered yet (the UAS's ringing INVITE)."""
        return False

    async def update(self, body: bytes = b"", headers: Iterable[tuple[str, str]] = ()) -> Response:
        """Send an UPDATE (an offer when ``body`` is SDP; without, a refresh); returns its
        final response. An answer in the 2xx goes to ``on_answer``."""
        return await self._send_offer("UPDATE", body, headers)

    async def reinvite(self, body: bytes, headers: Iterable[tuple[str, str]] = ()) -> Response:
        """Send a re-INVITE offering ``body`` and ACK its 2xx; returns the final response."""
        return await self._send_offer("INVITE", body, headers)

    async def _send_offer(
        self, method: str, body: bytes, headers: Iterable[tuple[str, str]]
    ) -> Response:
        if self.dialog is None or self.state != DialogState.CONFIRMED:
            raise SipError(f"no confirmed dialog for {method}")
        if body and (self._offer_out or self._pending_2xx is not None):
            raise SipError("an offer is already under way")
        request = self.dialog.create_request(
            method,
            self.ua.via(self.transport, self.peer_host),
            contact=self._contact(),
            body=body,
            content_type="application/sdp",
        )
        for name, value in headers:
            request.headers.add(name, value)
        self._offer_out = bool(body)
        try:
            response = await self.ua.request(request, self.dialog.peer, self.credentials)
        finally:
            self._offer_out = False
        dialog = self.dialog
        # a digest retry went out with a higher CSeq than the dialog counted
        dialog.local_cseq = max(dialog.local_cseq, response.cseq[0])
        if 200 <= response.status < 300 and not self.terminated.done():
            if method == "INVITE":
                self._ack = dialog.create_request(
                    "ACK", self.ua.via(self.transport, self.peer_host), cseq=response.cseq[0]
                )
                self.ua.send_ack(self._ack, dialog.peer)
            dialog.refresh_target(response)
            if body:
                self.local_sdp = body
                if response.body and self.on_answer is not None:
                    self.on_answer(body, response.body)
        return response

    # -- session timers (RFC 4028) -----------------------------------------

    def _timer_check(self, st: ServerTransaction) -> tuple[bool, Agreement | None]:
        """What a refresh request (re-INVITE, UPDATE) agrees; False: refused (422/400)."""
        if self.timer_policy is None or self.state != DialogState.CONFIRMED:
            return True, None
        request = st.request
        try:
            return True, agree_as_uas(request, self.timer_policy)
        except IntervalTooSmall as exc:
            response = self.ua.response(request, 422, "Session Interval Too Small")
            response.headers.add("Min-SE", str(exc.min_se))
        except SipParseError as exc:
            response = self.ua.response(request, 400, exc.reason)
        st.respond(response)
        return False, None

    def _timer_apply(self, agreement: Agreement | None, response: Response) -> None:
        """Our 2xx to a (refresh) request we serve: announce and arm the agreed timer."""
        if self.timer_policy is None or self.state != DialogState.CONFIRMED:
            return
        if agreement is None:
            self.session_timer.cancel()  # RFC 4028 9: a 2xx without it turns timing off
            return
        response.headers.add("Supported", TIMER)
        for name, value in agreement.response_headers():
            response.headers.add(name, value)
        self.session_timer.arm(agreement.interval, agreement.we_refresh(Refresher.UAS))

    def _refresh_due(self) -> None:
        if self.state != DialogState.CONFIRMED or self._refreshing is not None:
            return
        self._refreshing = asyncio.ensure_future(self._refresh(self.session_timer.interval))

    async def _refresh(self, interval: int) -> None:
        """Refresh the session: UPDATE without SDP when the peer allows it, else a
        re-INVITE repeating our SDP (RFC 4028 7.4 and 9)."""
        policy = self.timer_policy or TimerPolicy()
        use_update = self.peer_allows_update
        try:
            for _ in range(3):
                if not use_update and (self._offer_out or self._pending_2xx is not None):
                    # an offer/answer exchange is under way: refresh once it is over
                    await asyncio.sleep(random.uniform(4, 8) * self.ua.timers.t1)
                    continue
                headers = [
                    ("Supported", TIMER),
                    ("Session-Expires", f"{interval};refresher={Refresher.UAC}"),
                    ("Min-SE", str(policy.min_se)),
                ]
                if use_update:
                    response = await self.update(headers=headers)
                else:
                    response = await self.reinvite(self.local_sdp, headers)
                status = response.status
                if 200 <= status < 300:
                    log.debug(
                        "call %s: session refreshed by %s",
                        self.call_id,
                        "UPDATE" if use_update else "re-INVITE",
                    )
                    agreement = agree_as_uac(response)
                    if agreement is None:  # the peer stopped timing: we keep refreshing
                        self.session_timer.arm(interval, True)
                    else:
                        self.session_timer.arm(
                            agreement.interval, agreement.we_refresh(Refresher.UAC)
                        )
                    return
                if status == 422 and (retry := retry_interval(response, policy, interval)):
                    interval = retry
                elif status in (405, 501) and use_update:
                    use_update = False  # it listed UPDATE but does not take it
                elif status == 491:
                    # RFC 3261 14.1: wait a random while, then try again
                    await asyncio.sleep(random.uniform(4, 8) * self.ua.timers.t1)
                elif status in (408, 481):
                    self._end_by_timer(REFRESH_FAILED_CAUSE)  # the dialog is gone (12.2.1.2)
                    return
                else:
                    break
            # refused, or crossing offers each time: try again at the next half interval
            # (if the session really lapses, the other side's timer ends it)
            log.info("call %s: session refresh not accepted", self.call_id)
            self.session_timer.arm(interval, True)
        except SipError as exc:
            log.info("call %s: session refresh failed: %s", self.call_id, exc)
            self._end_by_timer(REFRESH_FAILED_CAUSE)
        finally:
            self._refreshing = None

    def _session_expired(self) -> None:
        if self.state != DialogState.CONFIRMED:
            return
        log.warning(
            "call %s: no session refresh within the %d s session interval, hanging up",
            self.call_id,
            self.session_timer.interval,
        )
        self._end_by_timer(EXPIRED_CAUSE)

    def _end_by_timer(self, cause: str) -> None:
        if self.state == DialogState.TERMINATED:
            return
        self._ending = asyncio.ensure_future(self.hangup(cause))
        if self.on_session_end is not None:
            self.on_session_end(cause)

    # -- 2xx reliability (13.3.1.4) ----------------------------------------

    def _start_2xx_retransmission(
        self, response: Response, peer: Peer, cseq: int, initial: bool
    ) -> None:
        self._pending_2xx = (response, peer, cseq)
        if peer.transport != "UDP":
            return
        # Methods, not closures: a closure re-arming itself refers to itself, a cycle
        # that kept every answered call's dialog for the cyclic collector to find.
        timers = self.ua.timers
        self._2xx_interval = timers.t1
        loop = asyncio.get_running_loop()
        self._retransmit = loop.call_later(timers.t1, self._resend_2xx)
        self._give_up = loop.call_later(64 * timers.t1, self._no_ack, initial)

    def _resend_2xx(self) -> None:
        pending = self._pending_2xx
        if pending is None:
            return
        self.ua.transport.send_response(pending[0], pending[1])
        self._2xx_interval = min(2 * self._2xx_interval, self.ua.timers.t2)
        self._retransmit = asyncio.get_running_loop().call_later(
            self._2xx_interval, self._resend_2xx
        )

    def _no_ack(self, initial: bool) -> None:
        if self._pending_2xx is None:
            return
        self._pending_2xx = None
        if self._retransmit:
            self._retransmit.cancel()
        if initial:
            log.info("call %s: no ACK for 200 OK, hanging up", self.call_id)
            asyncio.ensure_future(self.hangup("no ACK"))

    def on_ack(self, request: Request) -> None:
        if self._pending_2xx is not None and request.cseq[0] == self._pending_2xx[2]:
            self._pending_2xx = None
            self._offer_out = False  # a late offer's answer comes in this ACK
            for handle in (self._retransmit, self._give_up):
                if handle:
                    handle.cancel()
            self._retransmit = self._give_up = None
            if self.state == DialogState.EARLY:
                self.state = DialogState.CONFIRMED
            if request.body and self.on_ack_answer is not None:
                # late offer: our 200 carried the offer, the ACK brings the answer
                self.on_ack_answer(request.body)

    def on_stray_response(self, response: Response) -> None:
        """A retransmitted 2xx to our re-INVITE: ACK it again (the UAC side overrides)."""
        if (
            self._ack is not None
            and 200 <= response.status < 300
            and response.cseq == (self._ack.cseq[0], "INVITE")
            and self.dialog is not None
        ):
            self.ua.send_ack(self._ack, self.dialog.peer)

    def _on_prack(self, st: ServerTransaction) -> None:
        """Overridden by the UAS side; we sent no reliable 18x here (RFC 3262 3: 481)."""
        st.respond(self.ua.response(st.request, 481, "Call/Transaction Does Not Exist"))

    # -- teardown -----------------------------------------------------------

    async def hangup(self, cause: str = "normal clearing") -> None:
        """Send BYE (if the dialog is up) and end the session."""
        if self.state != DialogState.CONFIRMED or self.dialog is None:
            # nothing to BYE (a UAS never sends BYE in an early dialog, RFC 3261 15)
            self._end(cause)
            return
        self._end(cause)
        bye = self.dialog.create_request("BYE", self.ua.via(self.transport, self.peer_host))
        try:
            ct = await self.ua.send(bye, self.dialog.peer)
            await asyncio.wait_for(ct.final, 64 * self.ua.timers.t1 + 1)
        except (TimeoutError, SipError) as exc:
            log.info("call %s: BYE not confirmed: %s", self.call_id, exc)

    def _end(self, cause: str) -> None:
        if self.state == DialogState.TERMINATED:
            return
        self.state = DialogState.TERMINATED
        self._pending_2xx = None
        self.session_timer.release()
        if self._refreshing is not None and self._refreshing is not asyncio.current_task():
            self._refreshing.cancel()
        for handle in (self._retransmit, self._give_up):
            if handle:
                handle.cancel()
        if self.dialog is not None:
            # keep answering retransmitted BYEs with the transaction layer; the
            # dialog itself is gone
            self.ua.dialogs.pop(self.dialog.id, None)
        if not self.terminated.done():
            self.terminated.set_result(cause)


class IncomingInvite(InviteSession):
    """A call that reached us (UAS)."""

    def __init__(self, ua: UserAgent, st: ServerTransaction) -> None:
        super().__init__(ua, st.peer.transport, st.peer.host, st.request.uri.scheme == "sips")
        self.st = st
        self.request = st.request
        self.local_tag = new_tag()
        self.on_cancel: Callable[[], None] | None = None
        st.on_cancel = self._cancelled
        # RFC 3262: the caller's 100rel stance, our reliable 18x, a 2xx held for a PRACK
        self.prack_stance = peer_stance(self.request)
        self._reliable: ReliableProvisionals | None = None
        self._early_key: tuple[str, str, str] | None = None
        self._held_2xx: Response | None = None
        # no PRACK came for a reliable 18x: the INVITE was failed with 500
        self.on_prack_timeout: Callable[[], None] | None = None
        self.peer_allows_update = allows_update(st.request)
        self._agreement: Agreement | None = None  # the session timer our 200 will grant
        self._early_answered = False  # a 18x carried our answer to the INVITE's offer

    def _cancelled(self) -> None:
        # the transaction layer already answered 200 to CANCEL and 487 to the INVITE
        self._end("caller cancelled")
        if self.on_cancel:
            self.on_cancel()

    def progress(self, status: int = 180, body: bytes = b"") -> None:
        if self.state != DialogState.EARLY or self.st.final_sent:
            return
        response = self.ua.response(self.request, status, to_tag=self.local_tag)
        response.headers.add(
            "Contact", self.ua.contact(None, self.transport, self.peer_host, secure=self.secure)
        )
        if body:
            response.headers.add("Content-Type", "application/sdp")
            response.body = body
            self._early_answered = True
        self._early_dialog()
        if self._sends_reliably(body):
            self._reliable_18x().send(response)
        else:
            self.st.respond(response)

    # -- reliable provisional responses (RFC 3262) ---------------------------

    def _sends_reliably(self, body: bytes) -> bool:
        """Require: 100rel -> every 18x; Supported only -> those with SDP (see
        softswitch.sip.reliable for why)."""
        if self.prack_stance == PrackMode.REQUIRED:
            return True
        return self.prack_stance == PrackMode.SUPPORTED and bool(body)

    @property
    def awaiting_prack(self) -> bool:
        """A reliable 18x of ours is sent or queued and not PRACKed yet."""
        return self._reliable is not None and self._reliable.outstanding

    @property
    def pracked(self) -> int:
        """How many of our reliable 18x the caller has PRACKed."""
        return self._reliable.acknowledged if self._reliable is not None else 0

    def _reliable_18x(self) -> ReliableProvisionals:
        if self._reliable is None:
            self._reliable = ReliableProvisionals(
                self.request, self.st.respond, self.ua.timers, self._prack_timeout
            )
            # the PRACK comes inside the early dialog: route it here
            key = (self.request.call_id, self.local_tag, self.request.from_addr.tag or "")
            self.ua.dialogs[key] = self
            self._early_key = key
        return self._reliable

    def _on_prack(self, st: ServerTransaction) -> None:
        rack = RAck.parse(st.request.headers.get("RAck"))
        if self._reliable is None or not self._reliable.prack(rack):
            st.respond(self.ua.response(st.request, 481, "Call/Transaction Does Not Exist"))
            return
        st.respond(self.ua.response(st.request, 200))
        held = self._held_2xx
        if held is not None and not self._reliable.awaiting_sdp_prack:
            self._held_2xx = None
            self._send_2xx(held)

    def _prack_timeout(self) -> None:
        log.info("call %s: no PRACK for a reliable provisional response", self.request.call_id)
        self._held_2xx = None
        self.reject(500, "Reliable Provisional Response Not Acknowledged")
        if self.on_prack_timeout is not None:
            self.on_prack_timeout()

    def _early_dialog(self) -> None:
        """Our tagged 18x made an early dialog (RFC 3261 12.1.1): the caller may send
        UPDATE in it (RFC 3311), so in-dialog requests are routed here from now on."""
        if self.dialog is None:
            self.dialog = Dialog.as_uas(self.request, self.local_tag, self.st.peer)
            self.ua.dialogs[self.dialog.id] = self

    def on_request(self, st: ServerTransaction) -> None:
        if self.state == DialogState.EARLY:
            method = st.request.method
            if method == "INVITE":  # no re-INVITE before the dialog is confirmed
                st.respond(self.ua.response(st.request, 491, "Request Pending"))
                return
            if method == "BYE":  # the caller gave up in the early dialog (RFC 3261 15)
                st.respond(self.ua.response(st.request, 200))
                self.reject(487)
                if self.on_cancel:
                    self.on_cancel()
                return
        super().on_request(st)

    def _offer_unanswered(self) -> bool:
        return (
            self.state == DialogState.EARLY
            and bool(self.request.body)
            and (not self._early_answered)
        )

    def negotiate_timer(self, policy: TimerPolicy) -> bool:
        """Settle the session timer the INVITE asks for (RFC 4028 9) before the call is
        routed; False: refused here with 422 (interval below our Min-SE) or 400."""
        self.timer_policy = policy
        try:
            self._agreement = agree_as_uas(self.request, policy)
        except IntervalTooSmall as exc:
            self.reject(422, "Session Interval Too Small", {"Min-SE": [str(exc.min_se)]})
            return False
        except SipParseError as exc:
            self.reject(400, exc.reason)
            return False
        return True

    def answer(self, body: bytes) -> None:
        if self.state != DialogState.EARLY or self.st.final_sent:
            raise SipError("call is no longer ringing")
        response = self.ua.response(self.request, 200, to_tag=self.local_tag)
        response.headers.add(
            "Contact", self.ua.contact(None, self.transport, self.peer_host, secure=self.secure)
        )
        response.headers.add("Content-Type", "application/sdp")
        response.body = body
        self.local_sdp = body
        self._offer_out = not self.request.body  # late offer: ours, answered in the ACK
        self._early_dialog()
        agreement = self._agreement
        if agreement is not None:
            for name, value in agreement.response_headers():
                response.headers.add(name, value)
        self.state = DialogState.CONFIRMED  # for our purposes; the ACK stops retransmissions
        if self._reliable is not None and self._reliable.awaiting_sdp_prack:
            # RFC 3262 3: no 2xx before the PRACK of an 18x that carried SDP
            self._held_2xx = response
            return
        self._send_2xx(response)

    def _send_2xx(self, response: Response) -> None:
        if self.state == DialogState.TERMINATED or self.st.final_sent:
            return
        if self._reliable is not None:
            self._reliable.stop()
        self.st.respond(response)
        agreement = self._agreement
        if agreement is not None:
            self.session_timer.arm(agreement.interval, agreement.we_refresh(Refresher.UAS))
        self._start_2xx_retransmission(response, self.st.peer, self.request.cseq[0], initial=True)

    def reject(
        self, status: int, reason: str | None = None, headers: dict[str, list[str]] | None = None
    ) -> None:
        if self.st.final_sent:
            return
        response = self.ua.response(self.request, status, reason, to_tag=self.local_tag)
        for name, values in (headers or {}).items():
            for value in values:
                response.headers.add(name, value)
        if self._reliable is not None:
            self._reliable.stop()
        self.st.respond(response)
        self._end(f"rejected {status}")

    async def hangup(self, cause: str = "normal clearing") -> None:
        if self._held_2xx is not None and not self.st.final_sent:
            # answered on our side but the 2xx still waits for a PRACK: the caller has
            # no dialog to receive a BYE in, so the INVITE is failed instead
            self._held_2xx = None
            self.st.respond(self.ua.response(self.request, 480, to_tag=self.local_tag))
            self._end(cause)
            return
        await super().hangup(cause)

    def _end(self, cause: str) -> None:
        if self._held_2xx is not None and not self.st.final_sent:
            # ended otherwise (a BYE in the early dialog): the INVITE still gets its
            # final response (RFC 3261 15.1.2)
            self._held_2xx = None
            self.st.respond(self.ua.response(self.request, 487, to_tag=self.local_tag))
        if self._reliable is not None:
            self._reliable.stop()
        if self._early_key is not None:
            if self.ua.dialogs.get(self._early_key) is self:
                del self.ua.dialogs[self._early_key]
            self._early_key = None
        super()._end(cause)


class OutgoingInvite(InviteSession):
    """A call we place (UAC): INVITE, optional digest retry, CANCEL, ACK."""

    def __init__(
        self,
        ua: UserAgent,
        *,
        uri: SipUri,
        from_addr: Address,
        to_addr: Address,
        peer: Peer,
        body: bytes,
        credentials: Credentials | None = None,
        contact_user: str | None = None,
        extra_headers: dict[str, str] | None = None,
        prack: PrackMode = PrackMode.OFF,
        timer_policy: TimerPolicy | None = None,
    ) -> None:
        super().__init__(ua, peer.transport, peer.host, uri.scheme == "sips")
        self.timer_policy = timer_policy
        self.local_sdp = body
        self.peer = peer
        self.credentials = credentials
        self.request = ua.new_request(
            "INVITE",
            uri,
            from_addr,
            to_addr,
            transport=peer.transport,
            contact_user=contact_user,
            body=body,
            content_type="application/sdp",
            peer_host=peer.host,
        )
        for name, value in (extra_headers or {}).items():
            self.request.headers.add(name, value)
        advertise(self.request, prack)
        # RFC 3262 4: which reliable 18x we PRACK, and the early dialog each came in
        self._rseqs = RSeqTracker()
        self._early_dialogs: dict[str, Dialog] = {}
        self._pracks: set[asyncio.Future[None]] = set()
        if timer_policy is not None:
            for name, value in request_headers(timer_policy):
                self.request.headers.add(name, value)
        self.on_provisional: Callable[[Response], None] | None = None
        self._ct: ClientTransaction | None = None
        self._cancel_wanted = False
        self._cancel_sent = False
        self.final: Response | None = None
        # the To tags of the early dialogs provisional responses made (one per device
        # behind a forking proxy): what a Replaces naming one of them matches
        self.early_tags: set[str] = set()

    async def _send(self) -> Response:
        return await self.ua.request(
            self.request,
            self.peer,
            self.credentials,
            on_provisional=self._provisional,
            on_transaction=self._track,
        )

    async def run(self) -> Response:
        """Send the INVITE and return its final response; a 2xx leaves the call up."""
        key = (self.request.call_id, self.request.from_addr.tag or "")
        self.ua.early[key] = self
        try:
            response = await self._send()
            if response.status == 422 and self._retry_422(response):
                response = await self._send()
        except BaseException:
            self.ua.early.pop(key, None)
            raise
        self.final = response
        # the INVITE's transaction is over (cancel() is for a ringing call): not kept for
        # the 64*T1 this usage stays in ua.early after a 2xx
        self._ct = None
        if 200 <= response.status < 300:
            # Other forks may still answer 2xx for 64*T1 (RFC 6026 "Accepted"); they
            # reach on_stray_response through this entry, to be ACKed and hung up.
            asyncio.get_running_loop().call_later(64 * self.ua.timers.t1, self._forget_forks, key)
            self._confirm(response)
            if self._cancel_wanted:
                await self.hangup("cancelled")
        else:
            self.ua.early.pop(key, None)
            self._end(f"failed {response.status}")
        return response

    def _retry_422(self, response: Response) -> bool:
        """RFC 4028 7.4: retry once with the larger interval the 422's Min-SE names
        (same Call-ID and From tag, next CSeq); False: give up with the 422."""
        if self.timer_policy is None or self._cancel_wanted:
            return False
        asked = self.request.headers.get("Session-Expires") or ""
        interval = retry_interval(response, self.timer_policy, int(asked.partition(";")[0] or 0))
        if interval is None:
            return False
        headers = self.request.headers.copy()
        headers.remove("Via")
        headers.prepend("Via", self.ua.via(self.transport, self.peer_host))
        number, method = self.request.cseq
        headers.set("CSeq", f"{number + 1} {method}")
        headers.set("Session-Expires", str(interval))
        headers.set("Min-SE", str(interval))
        log.info(
            "call %s: 422, retrying with a %d s session interval", self.request.call_id, interval
        )
        self.request = Request(self.request.method, self.request.uri, headers, self.request.body)
        return True

    def _forget_forks(self, key: tuple[str, str]) -> None:
        if self.ua.early.get(key) is self:
            del self.ua.early[key]

    def _track(self, ct: ClientTransaction) -> None:
        self._ct = ct
        self.request = ct.request
        self._cancel_sent = False

    def _provisional(self, response: Response) -> None:
        tag = response.to_addr.tag
        if tag:
            self.early_tags.add(tag)
        if is_reliable(response):
            rseq = self._rseqs.accept(response)
            if rseq is None:
                return  # a retransmission or out of order: neither PRACKed nor passed on
            self._send_prack(response, rseq)
        if self._cancel_wanted and not self._cancel_sent:
            asyncio.ensure_future(self._send_cancel())
        if self.on_provisional and response.status > 100:
            self.on_provisional(response)

    def _send_prack(self, response: Response, rseq: int) -> None:
        tag = response.to_addr.tag or ""
        early = self._early_dialogs.get(tag)
        if early is None:
            early = self._early_dialogs[tag] = Dialog.as_uac(self.request, response, self.peer)
        prack = early.create_request("PRACK", self.ua.via(self.transport, self.peer_host))
        prack.headers.add("RAck", str(RAck(rseq, self.request.cseq[0], "INVITE")))
        task = asyncio.ensure_future(self._prack(prack, early.peer))
        self._pracks.add(task)
        task.add_done_callback(self._pracks.discard)

    async def _prack(self, prack: Request, peer: Peer) -> None:
        try:
            response = await self.ua.request(prack, peer, self.credentials)
        except SipError as exc:
            log.info("call %s: PRACK not sent: %s", prack.call_id, exc)
            return
        if response.status >= 300:
            log.info("call %s: PRACK answered %d", prack.call_id, response.status)

    def _confirm(self, response: Response) -> None:
        self.dialog = Dialog.as_uac(self.request, response, self.peer)
        early = self._early_dialogs.get(response.to_addr.tag or "")
        if early is not None:
            # the PRACKs used CSeq numbers of this dialog already (RFC 3261 12.2.1.1)
            self.dialog.local_cseq = max(self.dialog.local_cseq, early.local_cseq)
        self.ua.dialogs[self.dialog.id] = self
        self._ack = self.dialog.create_request(
            "ACK", self.ua.via(self.transport, self.peer_host), cseq=self.request.cseq[0]
        )
        self.ua.send_ack(self._ack, self.dialog.peer)
        self.state = DialogState.CONFIRMED
        self.peer_allows_update = allows_update(response)
        if self.timer_policy is not None:
            agreement = agree_as_uac(response)
            if agreement is not None:
                self.session_timer.arm(agreement.interval, agreement.we_refresh(Refresher.UAC))

    def on_stray_response(self, response: Response) -> None:
        if not 200 <= response.status < 300 or response.cseq[1] != "INVITE":
            return
        if self.dialog is not None and response.to_addr.tag == self.dialog.remote_tag:
            if self._ack is not None and response.cseq[0] == self._ack.cseq[0]:
                self.ua.send_ack(self._ack, self.dialog.peer)
            return
        # a second 2xx from a fork: acknowledge it and end that dialog right away
        other = Dialog.as_uac(self.request, response, self.peer)
        self.ua.send_ack(
            other.create_request(
                "ACK", self.ua.via(self.transport, self.peer_host), cseq=self.request.cseq[0]
            ),
            other.peer,
        )
        asyncio.ensure_future(self._bye_other(other))

    async def _bye_other(self, other: Dialog) -> None:
        bye = other.create_request("BYE", self.ua.via(self.transport, self.peer_host))
        with contextlib.suppress(SipError):
            await self.ua.send(bye, other.peer)

    async def cancel(self) -> None:
        """Stop ringing (9.1): CANCEL once a provisional response has arrived."""
        if self.state != DialogState.EARLY or self._cancel_wanted:
            return
        self._cancel_wanted = True
        if self._ct is not None and self._ct.last_provisional is not None:
            await self._send_cancel()

    async def _send_cancel(self) -> None:
        if self._cancel_sent or self._ct is None or self._ct.state != TransactionState.PROCEEDING:
            return
        self._cancel_sent = True
        invite = self.request
        cancel = Request("CANCEL", invite.uri, Headers(), b"")
        cancel.headers.add("Via", invite.headers.get_all("Via")[0])
        cancel.headers.add("Max-Forwards", "70")
        for name in ("From", "To", "Call-ID"):
            cancel.headers.add(name, invite.headers.get(name) or "")
        cancel.headers.add("CSeq", f"{invite.cseq[0]} CANCEL")
        for route in invite.headers.get_all("Route"):
            cancel.headers.add("Route", route)
        try:
            await self.ua.send(cancel, self.peer)
        except SipError as exc:
            log.info("CANCEL not sent: %s", exc)
