"""The calling side: registers as an extension and places calls through the switch.

REGISTER and INVITE answer the switch's digest challenge (401, MD5 or SHA-256,
qop=auth); the 401 to an INVITE is ACKed hop by hop, the 200 with a new ACK to
the Contact it names; a retransmitted 200 gets the same ACK again.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from softswitch.sip.auth import authorization, choose_challenge
from softswitch.sip.message import Request, Response, new_branch, new_call_id, new_tag

from .sipua import Address, SipSocket

__all__ = ["CallFailed", "Caller", "OutgoingCall"]


class CallFailed(Exception):
    def __init__(self, reason: str, status: int = 0) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(slots=True)
class OutgoingCall:
    number: str
    call_id: str
    from_tag: str
    to_header: str = ""  # To of the 200, with the switch's tag
    target: str = ""  # the switch's Contact: request URI of ACK and BYE
    cseq: int = 1
    answer: bytes = b""
    ack: bytes = b""
    ended: bool = False  # BYE received from the switch


class Caller:
    def __init__(self, local: Address, switch: Address, user: str, password: str) -> None:
        self.local = local
        self.switch = switch
        self.user = user
        self.password = password
        self.sip: SipSocket | None = None
        self.calls: dict[str, OutgoingCall] = {}
        self.on_remote_bye: Callable[[OutgoingCall], None] | None = None
        self.stray_acks = 0

    async def start(self) -> None:
        self.sip = await SipSocket.bind(
            self.local[0], self.local[1], self._on_request, self._on_stray
        )
        self.local = (self.local[0], self.sip.port)

    def close(self) -> None:
        if self.sip is not None:
            self.sip.close()

    # -- messages ------------------------------------------------------------

    def _via(self, branch: str) -> str:
        return f"SIP/2.0/UDP {self.local[0]}:{self.local[1]};branch={branch};rport"

    def _from(self, tag: str) -> str:
        return f"<sip:{self.user}@{self.switch[0]}:{self.switch[1]}>;tag={tag}"

    def _contact(self) -> str:
        return f"<sip:{self.user}@{self.local[0]}:{self.local[1]}>"

    @staticmethod
    def _encode(start: str, headers: list[str], body: bytes = b"") -> bytes:
        return (
            "\r\n".join([start, *headers, f"Content-Length: {len(body)}", "", ""])
        ).encode() + body

    # -- REGISTER ------------------------------------------------------------

    async def register(self, expires: int = 3600) -> None:
        assert self.sip is not None
        uri = f"sip:{self.switch[0]}:{self.switch[1]}"
        call_id, tag = new_call_id(), new_tag()
        auth: list[str] = []
        for cseq in (1, 2, 3):
            branch = new_branch()
            data = self._encode(
                f"REGISTER {uri} SIP/2.0",
                [
                    f"Via: {self._via(branch)}",
                    "Max-Forwards: 70",
                    f"From: {self._from(tag)}",
                    f"To: <sip:{self.user}@{self.switch[0]}:{self.switch[1]}>",
                    f"Call-ID: {call_id}",
                    f"CSeq: {cseq} REGISTER",
                    f"Contact: {self._contact()}",
                    f"Expires: {expires}",
                    *auth,
                ],
            )
            response = await self.sip.request(data, branch, self.switch)
            if response.status == 200:
                return
            if response.status != 401 or auth:
                raise CallFailed(
                    f"REGISTER failed: {response.status} {response.reason}", response.status
                )
            auth = [f"Authorization: {self._answer(response, 'REGISTER', uri)}"]
        raise CallFailed("REGISTER: challenged too often")

    def _answer(self, response: Response, method: str, uri: str) -> str:
        challenge = choose_challenge(response.headers.get_all("WWW-Authenticate"))
        return authorization(
            challenge,
            method=method,
            uri=uri,
            username=self.user,
            password=self.password,
            nc=1,
            cnonce=secrets.token_hex(8),
        )

    # -- INVITE --------------------------------------------------------------

    async def invite(self, number: str, offer: bytes) -> OutgoingCall:
        """Place a call; returns once the 200 is ACKed (raises CallFailed otherwise)."""
        assert self.sip is not None
        uri = f"sip:{number}@{self.switch[0]}:{self.switch[1]}"
        call = OutgoingCall(number, new_call_id(), new_tag())
        self.calls[call.call_id] = call
        auth: list[str] = []
        while True:
            branch = new_branch()
            headers = [
                f"Via: {self._via(branch)}",
                "Max-Forwards: 70",
                f"From: {self._from(call.from_tag)}",
                f"To: <{uri}>",
                f"Call-ID: {call.call_id}",
                f"CSeq: {call.cseq} INVITE",
                f"Contact: {self._contact()}",
                *auth,
                "Content-Type: application/sdp",
            ]
            data = self._encode(f"INVITE {uri} SIP/2.0", headers, offer)
            try:
                response = await self.sip.request(data, branch, self.switch, invite=True)
            except TimeoutError:
                self.calls.pop(call.call_id, None)
                raise CallFailed("INVITE timed out") from None
            if response.status >= 300:
                # non-2xx ACK: same branch, the response's To (RFC 3261 17.1.1.3)
                self.sip.send(
                    self._encode(
                        f"ACK {uri} SIP/2.0",
                        [
                            f"Via: {self._via(branch)}",
                            "Max-Forwards: 70",
                            f"From: {self._from(call.from_tag)}",
                            f"To: {response.headers.get('To')}",
                            f"Call-ID: {call.call_id}",
                            f"CSeq: {call.cseq} ACK",
                        ],
                    ),
                    self.switch,
                )
                if response.status == 401 and not auth:
                    auth = [f"Authorization: {self._answer(response, 'INVITE', uri)}"]
                    call.cseq += 1
                    continue
                self.calls.pop(call.call_id, None)
                raise CallFailed(f"INVITE: {response.status} {response.reason}", response.status)
            break
        call.to_header = response.headers.get("To") or ""
        contacts = response.contacts
        call.target = str(contacts[0].uri) if contacts else uri
        call.answer = response.body
        call.ack = self._encode(
            f"ACK {call.target} SIP/2.0",
            [
                f"Via: {self._via(new_branch())}",
                "Max-Forwards: 70",
                f"From: {self._from(call.from_tag)}",
                f"To: {call.to_header}",
                f"Call-ID: {call.call_id}",
                f"CSeq: {call.cseq} ACK",
            ],
        )
        self.sip.send(call.ack, self.switch)
        return call

    async def bye(self, call: OutgoingCall) -> int:
        """Hang up; the final status of the BYE (0 when it timed out)."""
        assert self.sip is not None
        if call.ended:
            return 200
        call.cseq += 1
        branch = new_branch()
        data = self._encode(
            f"BYE {call.target} SIP/2.0",
            [
                f"Via: {self._via(branch)}",
                "Max-Forwards: 70",
                f"From: {self._from(call.from_tag)}",
                f"To: {call.to_header}",
                f"Call-ID: {call.call_id}",
                f"CSeq: {call.cseq} BYE",
            ],
        )
        try:
            response = await self.sip.request(data, branch, self.switch)
        except TimeoutError:
            return 0
        finally:
            call.ended = True
            self.calls.pop(call.call_id, None)
        return response.status

    # -- what the switch sends us --------------------------------------------

    def _on_request(self, request: Request, addr: Address) -> None:
        assert self.sip is not None
        if request.method == "ACK":
            return
        response = request.make_response(200)
        if request.method == "BYE":
            call = self.calls.pop(request.call_id, None)
            if call is not None and not call.ended:
                call.ended = True
                if self.on_remote_bye is not None:
                    self.on_remote_bye(call)
            elif call is None:
                response = request.make_response(481)
        self.sip.send(response.to_bytes(), addr)

    def _on_stray(self, response: Response, addr: Address) -> None:
        # a retransmitted 200 to our INVITE: the ACK got lost or was late
        call = self.calls.get(response.call_id)
        if (
            call is not None
            and call.ack
            and response.status == 200
            and response.cseq[1] == "INVITE"
        ):
            self.stray_acks += 1
            assert self.sip is not None
            self.sip.send(call.ack, addr)
