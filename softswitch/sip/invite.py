"""INVITE dialog usages: the signaling half of one call leg (RFC 3261 sections 13-15).

``IncomingInvite`` answers a received INVITE (UAS); ``OutgoingInvite`` places one (UAC).
Both then handle the confirmed dialog the same way: BYE either way, re-INVITE offers
(hold, new media address), INFO digits, and 2xx/ACK reliability.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable

from .address import Address
from .dialog import Dialog, DialogState
from .errors import SipError
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
        elif method == "INFO":
            match = _INFO_SIGNAL.search(request.body)
            st.respond(self.ua.response(request, 200))
            if match and self.on_info_digit:
                self.on_info_digit(match.group(1).decode().upper())
        elif method == "UPDATE":
            self._update(st)
        elif method == "OPTIONS":
            st.respond(self.ua.response(request, 200))
        elif method == "REFER" and self.on_refer is not None:
            self.on_refer(st)
        else:
            st.respond(self.ua.response(request, 405, "Method Not Allowed"))

    def _reinvite(self, st: ServerTransaction) -> None:
        request = st.request
        assert self.dialog is not None
        if self._pending_2xx is not None:
            st.respond(self.ua.response(request, 491, "Request Pending"))
            return
        self.dialog.refresh_target(request)
        answer = b""
        if request.body and self.on_reoffer is not None:
            try:
                answer = self.on_reoffer(request.body)
            except SipError as exc:
                st.respond(self.ua.response(request, 488, f"Not Acceptable Here ({exc})"))
                return
        response = self.ua.response(request, 200, to_tag=self.dialog.local_tag)
        response.headers.add(
            "Contact", self.ua.contact(None, self.transport, self.peer_host, secure=self.secure)
        )
        if answer:
            response.headers.add("Content-Type", "application/sdp")
            response.body = answer
        st.respond(response)
        self._start_2xx_retransmission(response, st.peer, request.cseq[0], initial=False)

    def _update(self, st: ServerTransaction) -> None:
        """UPDATE (RFC 3311) in a confirmed dialog: a target refresh, with or without a
        new offer, answered at once; an offer meets the re-INVITE's media hook."""
        request = st.request
        assert self.dialog is not None
        answer = b""
        if request.body:
            if self._pending_2xx is not None:  # our 2xx offer/answer is still unACKed
                response = self.ua.response(request, 500, "Server Internal Error")
                response.headers.add("Retry-After", "1")  # RFC 3311 5.2
                st.respond(response)
                return
            if self.on_reoffer is None:
                st.respond(self.ua.response(request, 488, "Not Acceptable Here"))
                return
            try:
                answer = self.on_reoffer(request.body)
            except SipError as exc:
                st.respond(self.ua.response(request, 488, f"Not Acceptable Here ({exc})"))
                return
        self.dialog.refresh_target(request)
        response = self.ua.response(request, 200)
        response.headers.add("Contact", self._contact())
        if answer:
            response.headers.add("Content-Type", "application/sdp")
            response.body = answer
        st.respond(response)

    # -- 2xx reliability (13.3.1.4) ----------------------------------------

    def _start_2xx_retransmission(
        self, response: Response, peer: Peer, cseq: int, initial: bool
    ) -> None:
        self._pending_2xx = (response, peer, cseq)
        if peer.transport != "UDP":
            return
        timers = self.ua.timers
        interval = timers.t1
        loop = asyncio.get_running_loop()

        def again() -> None:
            nonlocal interval
            if self._pending_2xx is None:
                return
            self.ua.transport.send_response(response, peer)
            interval = min(2 * interval, timers.t2)
            self._retransmit = loop.call_later(interval, again)

        def give_up() -> None:
            if self._pending_2xx is None:
                return
            self._pending_2xx = None
            if self._retransmit:
                self._retransmit.cancel()
            if initial:
                log.info("call %s: no ACK for 200 OK, hanging up", self.call_id)
                asyncio.ensure_future(self.hangup("no ACK"))

        self._retransmit = loop.call_later(interval, again)
        self._give_up = loop.call_later(64 * timers.t1, give_up)

    def on_ack(self, request: Request) -> None:
        if self._pending_2xx is not None and request.cseq[0] == self._pending_2xx[2]:
            self._pending_2xx = None
            for handle in (self._retransmit, self._give_up):
                if handle:
                    handle.cancel()
            if self.state == DialogState.EARLY:
                self.state = DialogState.CONFIRMED
            if request.body and self.on_ack_answer is not None:
                # late offer: our 200 carried the offer, the ACK brings the answer
                self.on_ack_answer(request.body)

    def on_stray_response(self, response: Response) -> None:
        """Overridden by the UAC side, which re-ACKs retransmitted 2xx."""

    def _on_prack(self, st: ServerTransaction) -> None:
        """Overridden by the UAS side; we sent no reliable 18x here (RFC 3262 3: 481)."""
        st.respond(self.ua.response(st.request, 481, "Call/Transaction Does Not Exist"))

    # -- teardown -----------------------------------------------------------

    async def hangup(self, cause: str = "normal clearing") -> None:
        """Send BYE (if the dialog is up) and end the session."""
        if self.state == DialogState.TERMINATED or self.dialog is None:
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

    def answer(self, body: bytes) -> None:
        if self.state != DialogState.EARLY or self.st.final_sent:
            raise SipError("call is no longer ringing")
        response = self.ua.response(self.request, 200, to_tag=self.local_tag)
        response.headers.add(
            "Contact", self.ua.contact(None, self.transport, self.peer_host, secure=self.secure)
        )
        response.headers.add("Content-Type", "application/sdp")
        response.body = body
        self.dialog = Dialog.as_uas(self.request, self.local_tag, self.st.peer)
        self.ua.dialogs[self.dialog.id] = self
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
    ) -> None:
        super().__init__(ua, peer.transport, peer.host, uri.scheme == "sips")
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
        self.on_provisional: Callable[[Response], None] | None = None
        self._ct: ClientTransaction | None = None
        self._cancel_wanted = False
        self._cancel_sent = False
        self._ack: Request | None = None
        self.final: Response | None = None
        # the To tags of the early dialogs provisional responses made (one per device
        # behind a forking proxy): what a Replaces naming one of them matches
        self.early_tags: set[str] = set()

    async def run(self) -> Response:
        """Send the INVITE and return its final response; a 2xx leaves the call up."""
        key = (self.request.call_id, self.request.from_addr.tag or "")
        self.ua.early[key] = self
        try:
            response = await self.ua.request(
                self.request,
                self.peer,
                self.credentials,
                on_provisional=self._provisional,
                on_transaction=self._track,
            )
        except BaseException:
            self.ua.early.pop(key, None)
            raise
        self.final = response
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

    def on_stray_response(self, response: Response) -> None:
        if not 200 <= response.status < 300 or response.cseq[1] != "INVITE":
            return
        if self.dialog is not None and response.to_addr.tag == self.dialog.remote_tag:
            if self._ack is not None:
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
