"""tel: (RFC 3966) and user=phone URIs from a carrier route by their number; an INVITE
whose Contact is no SIP URI is refused with 400 (RFC 3261 8.1.1.8), never ignored."""

from __future__ import annotations

import socket
import time

import pytest

from softswitch.sip.message import Response, new_branch, new_call_id, new_tag
from softswitch.sip.parser import parse_message
from tests.peers.baresip import BaresipAccount
from tests.switch_harness import ip_trunk

pytestmark = pytest.mark.peers

SDP = (
    "v=0\r\no=carrier 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


class Carrier:
    """A carrier's signalling on a UDP socket of 127.0.0.1, written by hand."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()

    def invite(self, switch: tuple[str, int], ruri: str, to: str, contact: str) -> dict[str, str]:
        call = {
            "ruri": ruri,
            "branch": new_branch(),
            "from": f"<tel:+1-201-555-0199>;tag={new_tag()}",
            "to": to,
            "call_id": new_call_id(),
        }
        self.send(
            switch, "INVITE", call, f"Contact: {contact}\r\nContent-Type: application/sdp\r\n", SDP
        )
        return call

    def send(
        self,
        switch: tuple[str, int],
        method: str,
        call: dict[str, str],
        extra: str = "",
        body: str = "",
        cseq: int = 1,
    ) -> None:
        text = (
            f"{method} {call['ruri']} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch={call['branch']}\r\n"
            f"Max-Forwards: 70\r\nFrom: {call['from']}\r\nTo: {call['to']}\r\n"
            f"Call-ID: {call['call_id']}\r\nCSeq: {cseq} {method}\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n{body}"
        )
        self.sock.sendto(text.encode(), switch)

    def final(self, call_id: str, method: str = "INVITE", timeout: float = 10.0) -> Response:
        deadline = time.monotonic() + timeout
        while True:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            msg = parse_message(self.sock.recv(65536))
            if (
                isinstance(msg, Response)
                and msg.call_id == call_id
                and msg.cseq[1] == method
                and msg.status >= 200
            ):
                return msg

    def hang_up(self, switch: tuple[str, int], call: dict[str, str], ok: Response) -> Response:
        """ACK the 200 and BYE the call; returns the BYE's final response."""
        dialog = {
            **call,
            "ruri": str(ok.contacts[0].uri),
            "to": ok.headers.get("To") or call["to"],
            "branch": new_branch(),
        }
        self.send(switch, "ACK", dialog)
        self.send(switch, "BYE", {**dialog, "branch": new_branch()}, cseq=2)
        return self.final(call["call_id"], "BYE")


@pytest.fixture
def carrier():
    c = Carrier()
    yield c
    c.close()


def carrier_switch(switch_factory, carrier: Carrier):
    return switch_factory(trunks=[ip_trunk("carrier", carrier.port)])


@pytest.mark.parametrize(
    "ruri",
    [
        "tel:1-0-2;phone-context=+1-201-555",  # a local number with its context
        # a ported number in a sip: URI: the routing number (rn=) is not the number
        "sip:1-0-2;npdi;rn=+1-201-555-0000@127.0.0.1;user=phone",
    ],
)
def test_a_number_uri_from_the_carrier_rings_the_extension(
    ruri, switch_factory, phone_factory, carrier
):
    harness = carrier_switch(switch_factory, carrier)
    switch = harness.config.sip_host_port
    phone = phone_factory(BaresipAccount("102", "pw102", registrar=f"127.0.0.1:{switch[1]}"))
    phone.wait_registered()
    call = carrier.invite(
        switch, ruri, "<tel:102;phone-context=+1-201-555>", f"<sip:c@127.0.0.1:{carrier.port}>"
    )
    phone.wait_incoming()
    ok = carrier.final(call["call_id"])  # the test phone answers by itself
    assert ok.status == 200, ok
    assert carrier.hang_up(switch, call, ok).status == 200
    phone.wait_call_closed()


def test_an_unknown_tel_number_is_not_found(switch_factory, carrier):
    harness = carrier_switch(switch_factory, carrier)
    switch = harness.config.sip_host_port
    call = carrier.invite(
        switch, "tel:+1-201-555-0999", "<tel:+1-201-555-0999>", f"<sip:c@127.0.0.1:{carrier.port}>"
    )
    assert carrier.final(call["call_id"]).status == 404


@pytest.mark.parametrize("contact", ["<tel:+1-201-555-0199>", "<http://carrier.invalid/c>"])
def test_an_invite_whose_contact_is_no_sip_uri_gets_400(contact, switch_factory, carrier):
    harness = switch_factory()  # not a trunk: refused before any digest challenge
    switch = harness.config.sip_host_port
    call = carrier.invite(switch, "sip:102@127.0.0.1", "<sip:102@127.0.0.1>", contact)
    final = carrier.final(call["call_id"])
    assert final.status == 400
    assert "Contact must be a SIP or SIPS URI" in final.reason
