"""The called side: the far end of an IP-authenticated trunk, answering at once.

An INVITE gets 180 then 200 with our SDP answer, the 200 retransmitted until
the ACK (T1 doubling up to T2); a retransmitted INVITE gets the last response
again; BYE gets 200. Which media port answers a call is the owner's business:
``on_offer(number, remote_host, remote_port)`` returns our port, or None for 404.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from media.srtp import SrtpContext
from softswitch.sip import sdp
from softswitch.sip.errors import SipError
from softswitch.sip.message import Request, Response, new_tag

from .sipua import T1, T2, Address, SipSocket
from .srtp import StreamKeys

__all__ = ["Callee", "IncomingCall"]


@dataclass(slots=True)
class IncomingCall:
    number: str
    call_id: str
    addr: Address
    last_response: bytes = b""
    answer: bytes = b""
    timer: asyncio.TimerHandle | None = None
    interval: float = T1
    retransmissions: int = 0
    acked: bool = False
    ended: bool = False


class Callee:
    def __init__(
        self,
        local: Address,
        media_host: str,
        on_offer: Callable[[str, str, int], int | None],
        on_ack: Callable[[IncomingCall], None] | None = None,
        on_bye: Callable[[IncomingCall], None] | None = None,
        on_srtp: Callable[[str, SrtpContext], None] | None = None,
    ) -> None:
        """With ``on_srtp`` every call must be SRTP; it gets each call's context."""
        self.local = local
        self.media_host = media_host
        self.on_offer = on_offer
        self.on_ack = on_ack
        self.on_bye = on_bye
        self.on_srtp = on_srtp
        self.sip: SipSocket | None = None
        self.calls: dict[str, IncomingCall] = {}
        self.rejected = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._session = 1

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.sip = await SipSocket.bind(
            self.local[0], self.local[1], self._on_request, self._on_stray
        )
        self.local = (self.local[0], self.sip.port)

    def close(self) -> None:
        for call in self.calls.values():
            if call.timer is not None:
                call.timer.cancel()
        if self.sip is not None:
            self.sip.close()

    def _respond(self, response: Response, addr: Address) -> bytes:
        data = response.to_bytes()
        assert self.sip is not None
        self.sip.send(data, addr)
        return data

    def _on_request(self, request: Request, addr: Address) -> None:
        method = request.method
        if method == "INVITE":
            self._invite(request, addr)
        elif method == "ACK":
            call = self.calls.get(request.call_id)
            if call is not None and not call.acked:
                call.acked = True
                if call.timer is not None:
                    call.timer.cancel()
                    call.timer = None
                if self.on_ack is not None:
                    self.on_ack(call)
        elif method == "BYE":
            call = self.calls.pop(request.call_id, None)
            self._respond(request.make_response(200 if call is not None else 481), addr)
            if call is not None:
                call.ended = True
                if call.timer is not None:
                    call.timer.cancel()
                if self.on_bye is not None:
                    self.on_bye(call)
        else:  # OPTIONS, CANCEL (we never ring long enough for one to matter), INFO ...
            self._respond(request.make_response(200), addr)

    def _invite(self, request: Request, addr: Address) -> None:
        call = self.calls.get(request.call_id)
        if call is not None:
            if request.to_addr.tag:  # re-INVITE (hold, new media): same answer again
                response = request.make_response(200)
                response.headers.add("Contact", self._contact(call.number))
                response.headers.add("Content-Type", "application/sdp")
                response.body = call.answer
                self._respond(response, addr)
            elif call.last_response:  # retransmission of the initial INVITE
                assert self.sip is not None
                self.sip.send(call.last_response, addr)
            return
        number = request.uri.user or ""
        try:
            offer = sdp.SessionDescription.parse(request.body)
            remote = offer.connection_for(offer.media[0]) if offer.media else None
            remote_port = offer.media[0].port if offer.media else 0
        except (SipError, IndexError):
            self.rejected += 1
            self._respond(request.make_response(488), addr)
            return
        port = self.on_offer(number, (remote or "").split("/")[0], remote_port) if remote else None
        if port is None:
            self.rejected += 1
            self._respond(request.make_response(404, to_tag=new_tag()), addr)
            return
        self._session += 1
        keys = StreamKeys() if self.on_srtp is not None else None
        try:
            answer, negotiated = sdp.make_answer(
                offer,
                self.media_host,
                port,
                codecs=("PCMU",),
                session_id=self._session,
                srtp=sdp.SrtpMode.OFF if keys is None else sdp.SrtpMode.MANDATORY,
                keys=None if keys is None else keys.key_params,
                usable=StreamKeys.usable,
            )
            if keys is not None and self.on_srtp is not None:
                self.on_srtp(number, keys.context(negotiated.crypto))
        except SipError:
            self.rejected += 1
            self._respond(request.make_response(488, to_tag=new_tag()), addr)
            return
        call = IncomingCall(number, request.call_id, addr, answer=answer.to_bytes())
        self.calls[request.call_id] = call
        tag = new_tag()
        self._respond(request.make_response(180, to_tag=tag), addr)
        ok = request.make_response(200, to_tag=tag)
        ok.headers.add("Contact", self._contact(number))
        ok.headers.add("Content-Type", "application/sdp")
        ok.body = call.answer
        call.last_response = self._respond(ok, addr)
        assert self._loop is not None
        call.timer = self._loop.call_later(T1, self._retransmit, call)

    def _retransmit(self, call: IncomingCall) -> None:
        if call.acked or call.ended:
            return
        if call.retransmissions >= 10:  # timer H: 64*T1 without ACK, give up
            call.timer = None
            return
        call.retransmissions += 1
        assert self.sip is not None
        self.sip.send(call.last_response, call.addr)
        call.interval = min(call.interval * 2, T2)
        assert self._loop is not None
        call.timer = self._loop.call_later(call.interval, self._retransmit, call)

    def _contact(self, user: str) -> str:
        return f"<sip:{user}@{self.local[0]}:{self.local[1]}>"

    def _on_stray(self, response: Response, addr: Address) -> None:
        pass  # we send no requests
