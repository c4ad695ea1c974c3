"""INVITE sessions between two real UserAgents on 127.0.0.1 (RFC 3261 13-15).

One UA calls the other: 180/200/ACK/BYE either way, CANCEL, rejection, re-INVITE
offers (answered, refused, glare), INFO digits, 2xx retransmission until the ACK,
and a caller that never ACKs.  Short timers keep the RFC's retransmissions fast.
"""

from __future__ import annotations

import asyncio
import gc
import ssl
import weakref
from pathlib import Path

import pytest

from softswitch.sip.address import Address
from softswitch.sip.dialog import Dialog, DialogState
from softswitch.sip.errors import SipError
from softswitch.sip.invite import IncomingInvite, OutgoingInvite
from softswitch.sip.message import Request, Response
from softswitch.sip.transaction import ServerTransaction, TransactionState
from softswitch.sip.transport import Peer, TlsClient
from softswitch.sip.ua import UserAgent
from softswitch.sip.uri import SipUri
from softswitch.tlsidentity import ensure_identity
from tests.sip.raw import RawUdp, request_text
from tests.sip.ua_pair import (
    ANSWER,
    FAST,
    GIVE_UP,
    OFFER,
    Pair,
    answered_by_raw,
    call_to_raw,
    eventually,
    ua_and_raw,
)


async def test_ring_answer_ack_and_bye_from_the_caller(pair: Pair) -> None:
    call = pair.call()
    task, bob, provisional = await pair.started(call)
    assert bob.request.body == OFFER
    assert bob.request.from_addr.display == "Alice"
    assert bob.state == DialogState.EARLY
    bob.progress(180)
    await eventually(lambda: bool(provisional))
    assert provisional[0].status == 180
    assert provisional[0].to_addr.tag == bob.local_tag
    assert call.state == DialogState.EARLY

    bob.answer(ANSWER)
    final = await asyncio.wait_for(task, 2)
    assert final.status == 200 and final.body == ANSWER
    assert call.state == bob.state == DialogState.CONFIRMED
    assert call.dialog is not None and bob.dialog is not None
    assert call.dialog.remote_tag == bob.local_tag
    assert call.dialog.id == (bob.dialog.id[0], bob.dialog.id[2], bob.dialog.id[1])

    # the ACK reached Bob: past the 2xx give-up time he has not hung up
    await asyncio.sleep(GIVE_UP + 0.2)
    assert not bob.terminated.done()

    causes: list[str] = []
    bob.on_remote_bye = causes.append
    await call.hangup()
    assert await asyncio.wait_for(bob.terminated, 2) == "remote BYE"
    assert causes == ["normal clearing"]
    assert call.terminated.result() == "normal clearing"
    assert call.state == bob.state == DialogState.TERMINATED
    assert pair.alice.dialogs == {} and pair.bob.dialogs == {}


async def test_an_ended_call_is_freed_without_the_cycle_collector(pair: Pair) -> None:
    """No reference cycle through a finished call: reference counting frees both ends as
    soon as the transactions and the forks' 64*T1 entry let go, so calls never pile up
    for the cyclic collector (whose pauses stall every call at a few hundred calls/s)."""
    gc.collect()
    gc.disable()
    try:
        call, bob, _ = await pair.connected()
        await asyncio.sleep(4 * FAST.t1)  # the ACK is in
        await call.hangup()
        await asyncio.wait_for(bob.terminated, 2)
        await asyncio.sleep(GIVE_UP + 0.3)  # the forks' entry and timer L ran out
        ends = [weakref.ref(call), weakref.ref(bob)]
        del call, bob
        await asyncio.sleep(0)
        assert [end() for end in ends] == [None, None]
    finally:
        gc.enable()


async def test_callee_hangs_up(pair: Pair) -> None:
    call, bob, _ = await pair.connected()
    causes: list[str] = []
    call.on_remote_bye = causes.append
    await bob.hangup("done")
    assert await asyncio.wait_for(call.terminated, 2) == "remote BYE"
    assert causes == ["normal clearing"]
    assert bob.terminated.result() == "done"


async def test_call_over_tcp(pair: Pair) -> None:
    call, bob, final = await pair.connected("TCP")
    assert final.status == 200
    assert bob.request.top_via.transport == "TCP"
    assert bob.st.peer.transport == "TCP"
    assert "transport=tcp" in (final.headers.get("Contact") or "")
    await call.hangup()
    assert await asyncio.wait_for(bob.terminated, 2) == "remote BYE"


async def test_cancel_while_ringing(pair: Pair) -> None:
    call = pair.call()
    task = asyncio.ensure_future(call.run())
    bob = await pair.ringing()
    cancelled: list[bool] = []
    bob.on_cancel = lambda: cancelled.append(True)
    bob.progress(180)
    await eventually(lambda: call._ct is not None and call._ct.last_provisional is not None)
    await call.cancel()
    final = await asyncio.wait_for(task, 2)
    assert final.status == 487
    assert final.to_addr.tag == bob.local_tag  # the tag of the 180 (RFC 3261 9.2)
    assert await asyncio.wait_for(bob.terminated, 2) == "caller cancelled"
    assert cancelled == [True]
    assert call.state == DialogState.TERMINATED
    with pytest.raises(SipError):
        bob.answer(ANSWER)  # too late: the call is gone


async def test_cancel_asked_before_any_response_goes_out_with_the_first_provisional(
    pair: Pair,
) -> None:
    call = pair.call()
    task = asyncio.ensure_future(call.run())
    await call.cancel()  # nothing received yet: RFC 3261 9.1 says wait for a provisional
    st = await asyncio.wait_for(pair.incoming.get(), 2)
    assert (await asyncio.wait_for(task, 2)).status == 487  # the 100 Trying released it
    assert st.cancelled
    assert call.state == DialogState.TERMINATED


async def test_rejected_call(pair: Pair) -> None:
    call = pair.call()
    task = asyncio.ensure_future(call.run())
    bob = await pair.ringing()
    bob.reject(486, headers={"Retry-After": ["30"]})
    final = await asyncio.wait_for(task, 2)
    assert final.status == 486 and final.reason == "Busy Here"
    assert final.headers.get("Retry-After") == "30"
    assert await asyncio.wait_for(call.terminated, 2) == "failed 486"
    assert bob.terminated.result() == "rejected 486"
    # the hop-by-hop ACK confirmed Bob's server transaction (no timer H failure)
    await eventually(
        lambda: bob.st.state in (TransactionState.CONFIRMED, TransactionState.TERMINATED)
    )


async def reinvite(pair: Pair, call: OutgoingInvite, body: bytes) -> tuple[Response, Request]:
    """Alice sends a re-INVITE inside the dialog; returns the final response and the request."""
    assert call.dialog is not None
    request = call.dialog.create_request(
        "INVITE",
        pair.alice.via(),
        contact=pair.alice.contact(None),
        body=body,
        content_type="application/sdp",
    )
    ct = await pair.alice.send(request, call.dialog.peer)
    return await asyncio.wait_for(ct.final, 2), request


async def test_reinvite_offer_answered_and_acked(pair: Pair) -> None:
    call, bob, _ = await pair.connected()
    offers: list[bytes] = []

    def reoffer(body: bytes) -> bytes:
        offers.append(body)
        return b"v=0\r\nheld\r\n"

    bob.on_reoffer = reoffer
    hold = OFFER + b"a=sendonly\r\n"
    response, request = await reinvite(pair, call, hold)
    assert response.status == 200 and response.body == b"v=0\r\nheld\r\n"
    assert response.headers.get("Content-Type") == "application/sdp"
    assert offers == [hold]
    assert call.dialog is not None
    pair.alice.send_ack(
        call.dialog.create_request("ACK", pair.alice.via(), cseq=request.cseq[0]),
        call.dialog.peer,
    )
    # a second re-INVITE is not refused with 491: the ACK ended the first one
    response, _ = await reinvite(pair, call, OFFER)
    assert response.status == 200


async def test_reinvite_while_a_2xx_awaits_its_ack_is_491(pair: Pair) -> None:
    call, bob, _ = await pair.connected()
    bob.on_reoffer = lambda body: ANSWER
    first, _ = await reinvite(pair, call, OFFER)
    assert first.status == 200  # not acknowledged on purpose
    second, _ = await reinvite(pair, call, OFFER)
    assert second.status == 491


async def test_unacceptable_reoffer_is_488(pair: Pair) -> None:
    call, bob, _ = await pair.connected()

    def refuse(body: bytes) -> bytes:
        raise SipError("no common codec")

    bob.on_reoffer = refuse
    response, _ = await reinvite(pair, call, OFFER)
    assert response.status == 488
    assert "no common codec" in response.reason
    assert bob.state == DialogState.CONFIRMED  # the call itself goes on


async def test_info_digit_and_in_dialog_methods(pair: Pair) -> None:
    call, bob, _ = await pair.connected()
    digits: list[str] = []
    bob.on_info_digit = digits.append
    assert call.dialog is not None
    for method, body in (("INFO", b"Signal=a\r\nDuration=160\r\n"), ("OPTIONS", b"")):
        request = call.dialog.create_request(
            method, pair.alice.via(), body=body, content_type="application/dtmf-relay"
        )
        ct = await pair.alice.send(request, call.dialog.peer)
        assert (await asyncio.wait_for(ct.final, 2)).status == 200
    assert digits == ["A"]
    refer = call.dialog.create_request("REFER", pair.alice.via())
    ct = await pair.alice.send(refer, call.dialog.peer)
    not_allowed = await asyncio.wait_for(ct.final, 2)
    assert not_allowed.status == 405
    assert "INVITE" in (not_allowed.headers.get("Allow") or "")
    # an old CSeq is out of order (12.2.2)
    stale = call.dialog.create_request("INFO", pair.alice.via(), cseq=1)
    ct = await pair.alice.send(stale, call.dialog.peer)
    assert (await asyncio.wait_for(ct.final, 2)).status == 500


async def test_update_refreshes_and_renegotiates_and_notify_is_not_allowed(pair: Pair) -> None:
    call, bob, _ = await pair.connected()
    assert call.dialog is not None
    pair.alice.send_ack(
        call.dialog.create_request("ACK", pair.alice.via(), cseq=1), call.dialog.peer
    )
    await asyncio.sleep(0.05)
    offers: list[bytes] = []

    def reoffer(body: bytes) -> bytes:
        offers.append(body)
        return ANSWER

    bob.on_reoffer = reoffer

    async def send(method: str, body: bytes = b"") -> Response:
        assert call.dialog is not None
        request = call.dialog.create_request(
            method,
            pair.alice.via(),
            contact=pair.alice.contact(None),
            body=body,
            content_type="application/sdp",
        )
        ct = await pair.alice.send(request, call.dialog.peer)
        return await asyncio.wait_for(ct.final, 2)

    refresh = await send("UPDATE")  # a session refresh: no offer (RFC 3311)
    assert refresh.status == 200 and refresh.body == b"" and refresh.contacts
    offer = await send("UPDATE", OFFER)  # an offer is answered in the 200
    assert offer.status == 200 and offer.body == ANSWER and offers == [OFFER]
    notify = await send("NOTIFY")  # no subscription exists: not among what we allow
    assert notify.status == 405 and "NOTIFY" not in (notify.headers.get("Allow") or "")


async def test_2xx_is_retransmitted_until_acked_then_the_callee_gives_up() -> None:
    incoming: asyncio.Queue[ServerTransaction] = asyncio.Queue()
    async with ua_and_raw(incoming.put_nowait) as (bob, raw):
        raw.send(request_text("INVITE", bob.port, raw.port, body=OFFER), bob.port)
        assert (await raw.next()).status == 100
        session = IncomingInvite(bob, await asyncio.wait_for(incoming.get(), 2))
        session.answer(ANSWER)
        oks = [await raw.next(), await raw.next(), await raw.next()]
        assert [r.status for r in oks] == [200, 200, 200]  # the caller never ACKs
        assert all(isinstance(r, Response) and r.body == ANSWER for r in oks)
        # after 64*T1 Bob hangs up: a BYE arrives at the caller
        assert await asyncio.wait_for(session.terminated, GIVE_UP + 2) == "no ACK"
        while True:
            message = await raw.next(GIVE_UP + 2)
            if isinstance(message, Request):
                break
        assert message.method == "BYE" and message.to_addr.tag == "rawfrom"


async def test_late_offer_answer_comes_in_the_ack() -> None:
    incoming: asyncio.Queue[ServerTransaction] = asyncio.Queue()
    async with ua_and_raw(incoming.put_nowait) as (bob, raw):
        raw.send(request_text("INVITE", bob.port, raw.port), bob.port)  # no SDP: late offer
        assert (await raw.next()).status == 100
        session = IncomingInvite(bob, await asyncio.wait_for(incoming.get(), 2))
        answers: list[bytes] = []
        session.on_ack_answer = answers.append
        session.answer(OFFER)
        ok = await raw.next()
        assert isinstance(ok, Response) and ok.status == 200
        ack = request_text(
            "ACK", bob.port, raw.port, branch="z9hG4bKack", to_tag=ok.to_addr.tag, body=ANSWER
        )
        raw.send(ack, bob.port)
        await eventually(lambda: answers == [ANSWER])
        await asyncio.sleep(0.2)
        raw.drain()
        await asyncio.sleep(0.3)
        assert raw.drain() == []  # no more 200 retransmissions


async def answered_by_fork1(
    alice: UserAgent, raw: RawUdp
) -> tuple[OutgoingInvite, Request, Response]:
    """Alice calls the raw socket, which answers 200 as fork1: the call (up), the INVITE
    the socket got and the 200 it sent."""
    call = call_to_raw(alice, raw)
    task = asyncio.ensure_future(call.run())
    invite = await raw.next()
    assert isinstance(invite, Request) and invite.method == "INVITE"
    ok = answered_by_raw(invite, raw, 200, "fork1")
    raw.send(ok.to_bytes(), alice.port)
    assert (await asyncio.wait_for(task, 2)).status == 200
    return call, invite, ok


async def test_caller_reacks_a_retransmitted_2xx() -> None:
    async with ua_and_raw() as (alice, raw):
        call, invite, ok = await answered_by_fork1(alice, raw)
        first_ack = await raw.next()
        assert isinstance(first_ack, Request) and first_ack.method == "ACK"
        raw.send(ok.to_bytes(), alice.port)  # our 200 again: the ACK was lost
        again = await raw.next()
        assert isinstance(again, Request) and again.method == "ACK"
        assert again.cseq == first_ack.cseq == (invite.cseq[0], "ACK")
        assert call.dialog is not None and call.dialog.remote_tag == "fork1"


async def test_a_second_2xx_from_another_fork_is_acked_then_hung_up() -> None:
    """RFC 3261 13.2.2.4: a UAC that already has its call must still ACK a 2xx from a
    second fork (or the forking proxy's UAS retransmits for 32 s), then BYE it."""
    async with ua_and_raw() as (alice, raw):
        call, invite, _ = await answered_by_fork1(alice, raw)
        assert (await raw.next()).method == "ACK"  # type: ignore[union-attr]
        await asyncio.sleep(0.1)  # the INVITE transaction has ended by now
        second = answered_by_raw(invite, raw, 200, "fork2", "carol")
        raw.send(second.to_bytes(), alice.port)
        ack = await raw.next()
        bye = await raw.next()
        assert isinstance(ack, Request) and ack.method == "ACK"
        assert ack.to_addr.tag == "fork2" and ack.uri.user == "carol"
        assert isinstance(bye, Request) and bye.method == "BYE"
        assert bye.to_addr.tag == "fork2"
        assert call.dialog is not None and call.dialog.remote_tag == "fork1"
        assert call.state == DialogState.CONFIRMED  # the first fork's call goes on


@pytest.mark.parametrize("scheme", ["sip", "sips"])
async def test_call_over_tls(tmp_path: Path, scheme: str) -> None:
    """The dialog runs over TLS (InviteSession.transport); a sips: Request-URI makes both
    Contacts sips: (RFC 3261 12.1), a sip: one over TLS says ;transport=tls."""
    identity = ensure_identity(tmp_path / "cert.pem", tmp_path / "key.pem", "127.0.0.1")
    incoming: asyncio.Queue[ServerTransaction] = asyncio.Queue()
    alice = UserAgent("127.0.0.1", 0, lambda st: None, timers=FAST)
    bob = UserAgent(
        "127.0.0.1",
        0,
        incoming.put_nowait,
        timers=FAST,
        tls_context=identity.server_context(),
    )
    await alice.start()
    await bob.start()
    try:
        tls_port = bob.transport.tls_port
        alice.transport.tls_clients[("127.0.0.1", tls_port)] = TlsClient(
            ssl.create_default_context(cafile=str(identity.certificate)), "127.0.0.1"
        )
        target = SipUri(scheme, "bob", "127.0.0.1", tls_port)
        call = OutgoingInvite(
            alice,
            uri=target,
            from_addr=Address(SipUri(scheme, "alice", "127.0.0.1")),
            to_addr=Address(target),
            peer=Peer("TLS", "127.0.0.1", tls_port),
            body=OFFER,
        )
        task = asyncio.ensure_future(call.run())
        callee = IncomingInvite(bob, await asyncio.wait_for(incoming.get(), 2))
        callee.answer(ANSWER)
        final = await asyncio.wait_for(task, 2)
        assert final.status == 200
        assert call.transport == callee.transport == "TLS"
        assert callee.request.top_via.transport == "TLS"
        offered = callee.request.headers.get("Contact") or ""
        answered = final.headers.get("Contact") or ""
        if scheme == "sips":
            assert call.secure and callee.secure
            assert offered.startswith("<sips:") and answered.startswith("<sips:")
            assert f":{tls_port}>" in answered
        else:
            assert not callee.secure
            assert offered.endswith(";transport=tls>") and answered.endswith(";transport=tls>")
        await call.hangup()  # in-dialog BYE over the same TLS connection
        assert await asyncio.wait_for(callee.terminated, 2) == "remote BYE"
    finally:
        await alice.stop()
        await bob.stop()


# -- UPDATE (RFC 3311) ------------------------------------------------------------

HELD = OFFER + b"a=sendonly\r\n"


async def test_update_offer_is_answered_in_its_200(pair: Pair) -> None:
    call, bob, _ = await pair.connected()
    offers: list[bytes] = []
    bob.on_reoffer = lambda body: offers.append(body) or ANSWER
    answers: list[tuple[bytes, bytes]] = []
    call.on_answer = lambda offer, answer: answers.append((offer, answer))
    response = await call.update(HELD)
    assert response.status == 200 and response.body == ANSWER
    assert response.headers.get("Content-Type") == "application/sdp"
    assert response.headers.get("Contact")  # UPDATE is a target refresh
    assert offers == [HELD] and answers == [(HELD, ANSWER)]
    assert call.local_sdp == HELD and bob.local_sdp == ANSWER
    # no ACK for UPDATE: a second one right away is not a glare
    assert (await call.update(OFFER)).status == 200


async def test_update_without_sdp_is_a_refresh_and_moves_the_target(pair: Pair) -> None:
    call, bob, _ = await pair.connected()
    bob.on_reoffer = lambda body: pytest.fail("no offer in a refresh")  # type: ignore[misc]
    assert call.dialog is not None and bob.dialog is not None
    request = call.dialog.create_request(
        "UPDATE", pair.alice.via(), contact=f"<sip:alice@127.0.0.1:{pair.alice.port};moved>"
    )
    ct = await pair.alice.send(request, call.dialog.peer)
    response = await asyncio.wait_for(ct.final, 2)
    assert response.status == 200 and response.body == b""
    assert bob.dialog.remote_target.params.get("moved", "x") is None


async def test_unacceptable_update_offer_is_488_and_the_call_goes_on(pair: Pair) -> None:
    call, bob, _ = await pair.connected()

    def refuse(body: bytes) -> bytes:
        raise SipError("no common codec")

    bob.on_reoffer = refuse
    response = await call.update(OFFER)
    assert response.status == 488 and "no common codec" in response.reason
    bob.on_reoffer = None  # nobody to answer an offer: 488 too
    assert (await call.update(OFFER)).status == 488
    assert bob.state == call.state == DialogState.CONFIRMED


async def test_crossing_offers_are_491_both_ways(pair: Pair) -> None:
    call, bob, _ = await pair.connected()
    bob.on_reoffer = call.on_reoffer = lambda body: ANSWER
    # Bob re-INVITEs and Alice UPDATEs at the same moment: each has its own offer pending
    theirs = asyncio.ensure_future(bob.reinvite(HELD))
    ours = asyncio.ensure_future(call.update(OFFER))
    update_response, reinvite_response = await asyncio.wait_for(asyncio.gather(ours, theirs), 3)
    assert update_response.status == 491
    assert reinvite_response.status == 491
    # once both are over, an offer goes through
    assert (await call.update(OFFER)).status == 200
    with pytest.raises(SipError):  # our own second offer while one is pending
        await _second_offer_while_one_is_pending(call)


async def _second_offer_while_one_is_pending(call: OutgoingInvite) -> None:
    first = asyncio.ensure_future(call.update(OFFER))
    await asyncio.sleep(0)  # the first is sent and waits for its answer
    try:
        await call.update(OFFER)
    finally:
        await first


async def test_update_in_the_early_dialog(pair: Pair) -> None:
    call = pair.call()
    task, bob, provisional = await pair.started(call)
    bob.on_reoffer = lambda body: ANSWER
    bob.progress(180)
    await eventually(lambda: bool(provisional))
    early = Dialog.as_uac(call.request, provisional[0], call.peer)

    async def update(body: bytes = b"") -> Response:
        request = early.create_request(
            "UPDATE",
            pair.alice.via(),
            contact=pair.alice.contact(None),
            body=body,
            content_type="application/sdp",
        )
        ct = await pair.alice.send(request, early.peer)
        return await asyncio.wait_for(ct.final, 2)

    assert (await update()).status == 200  # a refresh of the early dialog
    # the INVITE's offer is not answered yet (180 without SDP): RFC 3311 5.2
    busy = await update(OFFER)
    assert busy.status == 500 and busy.headers.get("Retry-After")
    bob.progress(183, ANSWER)
    answered = await update(HELD)
    assert answered.status == 200 and answered.body == ANSWER
    bob.answer(ANSWER)
    assert (await asyncio.wait_for(task, 2)).status == 200
    await call.hangup()


async def test_bye_in_the_early_dialog_ends_the_invite_with_487(pair: Pair) -> None:
    call = pair.call()
    task, bob, provisional = await pair.started(call)
    cancelled: list[bool] = []
    bob.on_cancel = lambda: cancelled.append(True)
    bob.progress(180)
    await eventually(lambda: bool(provisional))
    early = Dialog.as_uac(call.request, provisional[0], call.peer)
    ct = await pair.alice.send(early.create_request("BYE", pair.alice.via()), early.peer)
    assert (await asyncio.wait_for(ct.final, 2)).status == 200
    assert (await asyncio.wait_for(task, 2)).status == 487
    assert cancelled == [True] and bob.state == DialogState.TERMINATED
    assert pair.bob.dialogs == {}


async def test_update_offer_while_our_late_offer_awaits_its_ack_is_491() -> None:
    incoming: asyncio.Queue[ServerTransaction] = asyncio.Queue()

    async def final_to(method: str) -> Response:
        while True:  # skip the 100 and the 200 retransmissions
            message = await raw.next()
            if (
                isinstance(message, Response)
                and message.status >= 200
                and message.cseq[1] == method
            ):
                return message

    async with ua_and_raw(incoming.put_nowait) as (bob, raw):
        raw.send(request_text("INVITE", bob.port, raw.port), bob.port)  # no SDP: late offer
        session = IncomingInvite(bob, await asyncio.wait_for(incoming.get(), 2))
        session.on_reoffer = lambda body: ANSWER
        session.answer(OFFER)  # our offer, answered in the ACK
        ok = await final_to("INVITE")
        tag = ok.to_addr.tag
        update = request_text(
            "UPDATE", bob.port, raw.port, branch="z9hG4bKup1", cseq=2, to_tag=tag, body=OFFER
        )
        raw.send(update, bob.port)
        assert (await final_to("UPDATE")).status == 491  # RFC 3311 5.2
        ack = request_text("ACK", bob.port, raw.port, branch="z9hG4bKack", to_tag=tag, body=ANSWER)
        raw.send(ack, bob.port)
        await eventually(lambda: session._pending_2xx is None)
        update = request_text(
            "UPDATE", bob.port, raw.port, branch="z9hG4bKup2", cseq=3, to_tag=tag, body=OFFER
        )
        raw.send(update, bob.port)
        answered = await final_to("UPDATE")
        assert answered.status == 200 and answered.body == ANSWER
