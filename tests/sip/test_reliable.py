"""Reliable provisional responses (RFC 3262, 100rel/PRACK) between real UserAgents and
raw sockets on 127.0.0.1: both directions, RSeq/RAck, retransmission until the PRACK,
giving up after 64*T1 with a 500, 481 for a PRACK that names nothing, the 2xx held
until the PRACK of an 18x with SDP, and a UAC that ignores retransmitted and
out-of-order reliable 18x.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from softswitch.sip.dialog import DialogState
from softswitch.sip.invite import IncomingInvite
from softswitch.sip.message import Request, Response
from softswitch.sip.parser import parse_message
from softswitch.sip.reliable import (
    OPTION_100REL,
    PrackMode,
    RAck,
    RSeqTracker,
    option_tags,
    peer_stance,
)
from softswitch.sip.transaction import ServerTransaction
from softswitch.sip.ua import UserAgent
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


def with_headers(message: bytes, *lines: str) -> bytes:
    """``message`` with header ``lines`` added after its Max-Forwards."""
    extra = "".join(f"{line}\r\n" for line in lines).encode()
    return message.replace(b"Max-Forwards: 70\r\n", b"Max-Forwards: 70\r\n" + extra, 1)


async def next_of(raw: RawUdp, kind: str, timeout: float = 2.0) -> Request | Response:
    """The next message that is a response with status ``kind`` or a request ``kind``."""
    while True:
        message = await raw.next(timeout)
        if isinstance(message, Response) and str(message.status) == kind:
            return message
        if isinstance(message, Request) and message.method == kind:
            return message


# -- both sides ours ------------------------------------------------------------


async def test_required_100rel_every_18x_is_pracked_and_the_2xx_waits(pair: Pair) -> None:
    call = pair.call(prack=PrackMode.REQUIRED)
    assert OPTION_100REL in option_tags(call.request, "Require")
    assert OPTION_100REL in option_tags(call.request, "Supported")
    task, bob, seen = await pair.started(call)
    assert bob.prack_stance == PrackMode.REQUIRED
    bob.progress(180)
    bob.progress(183, ANSWER)  # queued: one reliable 18x outstanding at a time
    bob.answer(ANSWER)  # held: the 183 carried SDP and is not PRACKed yet
    final = await asyncio.wait_for(task, 2)
    assert final.status == 200
    assert [r.status for r in seen] == [180, 183]
    rseqs = [int(r.headers.get("RSeq") or 0) for r in seen]
    assert rseqs[1] == rseqs[0] + 1
    assert all(OPTION_100REL in option_tags(r, "Require") for r in seen)
    assert seen[1].body == ANSWER
    assert call.state == bob.state == DialogState.CONFIRMED
    assert bob.pracked == 2 and not bob.awaiting_prack
    # the BYE's CSeq comes after the two PRACKs' in the same dialog: no 500 out of order
    await call.hangup()
    assert await asyncio.wait_for(bob.terminated, 2) == "remote BYE"
    assert pair.alice.dialogs == {} and pair.bob.dialogs == {}


async def test_supported_only_sends_the_sdp_18x_reliably(pair: Pair) -> None:
    call = pair.call(prack=PrackMode.SUPPORTED)
    assert "Require" not in call.request.headers
    task, bob, seen = await pair.started(call)
    assert bob.prack_stance == PrackMode.SUPPORTED
    bob.progress(180)
    bob.progress(183, ANSWER)
    await eventually(lambda: len(seen) == 2)
    assert "RSeq" not in seen[0].headers  # a plain 180
    assert "RSeq" in seen[1].headers
    await eventually(lambda: bob._reliable is not None and not bob._reliable.awaiting_sdp_prack)
    bob.answer(ANSWER)
    assert (await asyncio.wait_for(task, 2)).status == 200
    await call.hangup()
    assert await asyncio.wait_for(bob.terminated, 2) == "remote BYE"


async def test_without_100rel_nothing_changes(pair: Pair) -> None:
    call = pair.call(prack=PrackMode.OFF)
    assert "100rel" not in (call.request.headers.get("Supported") or "")
    assert "Require" not in call.request.headers
    task, bob, seen = await pair.started(call)
    assert bob.prack_stance == PrackMode.OFF
    bob.progress(183, ANSWER)
    await eventually(lambda: len(seen) == 1)
    assert "RSeq" not in seen[0].headers and "Require" not in seen[0].headers
    bob.answer(ANSWER)
    assert (await asyncio.wait_for(task, 2)).status == 200
    await call.hangup()


# -- UAS against a raw caller ---------------------------------------------------


@asynccontextmanager
async def uas_with_raw_caller(
    *headers: str,
) -> AsyncIterator[tuple[UserAgent, RawUdp, IncomingInvite]]:
    """Bob's session of an INVITE (with ``headers``) from a raw socket, the 100 seen."""
    incoming: asyncio.Queue[ServerTransaction] = asyncio.Queue()
    async with ua_and_raw(incoming.put_nowait) as (bob, raw):
        invite = request_text("INVITE", bob.port, raw.port, body=OFFER)
        raw.send(with_headers(invite, *headers), bob.port)
        assert (await raw.next()).status == 100
        yield bob, raw, IncomingInvite(bob, await asyncio.wait_for(incoming.get(), 2))


def prack_text(bob: UserAgent, raw: RawUdp, tag: str, rack: str, n: int) -> bytes:
    text = request_text(
        "PRACK", bob.port, raw.port, branch=f"z9hG4bKprack{n}", cseq=1 + n, to_tag=tag
    )
    return with_headers(text, f"RAck: {rack}")


async def test_reliable_18x_is_retransmitted_then_the_invite_fails_with_500() -> None:
    async with uas_with_raw_caller("Require: 100rel") as (bob, raw, session):
        timeouts: list[bool] = []
        session.on_prack_timeout = lambda: timeouts.append(True)
        loop = asyncio.get_running_loop()
        session.progress(180)
        arrivals: list[float] = []
        rseqs: set[str | None] = set()
        while len(arrivals) < 5:
            message = await next_of(raw, "180")
            arrivals.append(loop.time())
            rseqs.add(message.headers.get("RSeq"))
        assert len(rseqs) == 1  # the same response again, not new ones
        gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
        # T1, 2*T1, 4*T1, 8*T1 (scheduling slack allowed)
        assert gaps[-1] > 1.5 * gaps[0]
        assert gaps[3] >= 6 * FAST.t1
        failed = await next_of(raw, "500", GIVE_UP + 2)
        assert isinstance(failed, Response) and failed.status == 500
        assert timeouts == [True]
        assert await asyncio.wait_for(session.terminated, 2) == "rejected 500"
        assert bob.dialogs == {}


async def test_prack_with_unknown_rack_is_481_and_the_right_one_releases_the_2xx() -> None:
    async with uas_with_raw_caller("Supported: 100rel") as (bob, raw, session):
        session.progress(183, ANSWER)
        reliable = await next_of(raw, "183")
        assert isinstance(reliable, Response)
        rseq = int(reliable.headers.get("RSeq") or 0)
        tag = reliable.to_addr.tag or ""
        session.answer(ANSWER)
        await asyncio.sleep(0.1)
        assert [m for m in raw.drain() if m.startswith(b"SIP/2.0 200")] == []  # held
        raw.send(prack_text(bob, raw, tag, f"{rseq + 1} 1 INVITE", 1), bob.port)
        assert (await next_of(raw, "481")).headers.get("CSeq") == "2 PRACK"
        raw.send(prack_text(bob, raw, tag, f"{rseq} 1 INFO", 2), bob.port)
        assert (await next_of(raw, "481")).headers.get("CSeq") == "3 PRACK"
        raw.send(prack_text(bob, raw, tag, f"{rseq} 1 INVITE", 3), bob.port)
        ok = await next_of(raw, "200")
        assert ok.headers.get("CSeq") == "4 PRACK"
        ok = await next_of(raw, "200")
        assert ok.headers.get("CSeq") == "1 INVITE" and isinstance(ok, Response)
        assert ok.body == ANSWER
        # the same PRACK again, in a new transaction: nothing left to acknowledge
        raw.send(prack_text(bob, raw, tag, f"{rseq} 1 INVITE", 4), bob.port)
        assert (await next_of(raw, "481")).headers.get("CSeq") == "5 PRACK"


async def test_prack_outside_any_early_dialog_is_481() -> None:
    async with uas_with_raw_caller() as (bob, raw, session):  # no 100rel: nothing is reliable
        session.progress(180)
        ringing = await next_of(raw, "180")
        assert "RSeq" not in ringing.headers
        raw.send(prack_text(bob, raw, ringing.to_addr.tag or "", "1 1 INVITE", 1), bob.port)
        assert (await next_of(raw, "481")).headers.get("CSeq") == "2 PRACK"


# -- UAC against a raw callee ---------------------------------------------------


async def test_caller_pracks_once_per_rseq_and_ignores_out_of_order() -> None:
    async with ua_and_raw() as (alice, raw):
        call = call_to_raw(alice, raw, "carrier", PrackMode.SUPPORTED)
        seen: list[Response] = []
        call.on_provisional = seen.append
        task = asyncio.ensure_future(call.run())
        invite = await next_of(raw, "INVITE")
        assert isinstance(invite, Request)
        assert peer_stance(invite) == PrackMode.SUPPORTED

        def reliable(status: int, rseq: int, body: bytes = b"") -> bytes:
            response = answered_by_raw(invite, raw, status, "carrier", "carrier")
            response.headers.add("Require", "100rel")
            response.headers.add("RSeq", str(rseq))
            if body:
                response.headers.add("Content-Type", "application/sdp")
                response.body = body
            return response.to_bytes()

        raw.send(reliable(183, 7, ANSWER), alice.port)
        prack = await next_of(raw, "PRACK")
        assert isinstance(prack, Request)
        assert RAck.parse(prack.headers.get("RAck")) == RAck(7, invite.cseq[0], "INVITE")
        assert prack.to_addr.tag == "carrier" and prack.call_id == invite.call_id
        assert prack.cseq[0] > invite.cseq[0]
        raw.send(prack.make_response(200).to_bytes(), alice.port)
        raw.send(reliable(183, 7, ANSWER), alice.port)  # a retransmission
        raw.send(reliable(180, 9), alice.port)  # RSeq 8 never came: out of order
        await asyncio.sleep(0.2)
        # no new PRACK (a retransmission of the first one, sent before our 200 got
        # there, is the transaction layer's business)
        new = [
            m
            for m in map(parse_message, raw.drain())
            if isinstance(m, Request) and m.method == "PRACK" and m.cseq != prack.cseq
        ]
        assert new == []
        assert [r.status for r in seen] == [183] and seen[0].body == ANSWER
        raw.send(reliable(180, 8), alice.port)
        second = await next_of(raw, "PRACK")
        while second.cseq == prack.cseq:  # a late copy of the first
            second = await next_of(raw, "PRACK")
        assert isinstance(second, Request)
        assert RAck.parse(second.headers.get("RAck")) == RAck(8, invite.cseq[0], "INVITE")
        assert second.cseq[0] == prack.cseq[0] + 1
        raw.send(second.make_response(200).to_bytes(), alice.port)
        ok = answered_by_raw(invite, raw, 200, "carrier", "carrier")
        raw.send(ok.to_bytes(), alice.port)
        assert (await asyncio.wait_for(task, 2)).status == 200
        assert await next_of(raw, "ACK")
        hangup = asyncio.ensure_future(call.hangup())
        bye = await next_of(raw, "BYE")
        assert isinstance(bye, Request) and bye.cseq[0] == second.cseq[0] + 1
        raw.send(bye.make_response(200).to_bytes(), alice.port)
        await asyncio.wait_for(hangup, 2)


def test_rack_parsing_and_rseq_tracking() -> None:
    assert RAck.parse("776656 1 INVITE") == RAck(776656, 1, "INVITE")
    assert str(RAck(5, 2, "INVITE")) == "5 2 INVITE"
    for bad in (None, "", "1 INVITE", "x 1 INVITE", "1 2 INVITE extra", "-1 1 INVITE"):
        assert RAck.parse(bad) is None
    tracker = RSeqTracker()

    def response(tag: str, rseq: str) -> Response:
        raw = (
            "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
            f"From: <sip:a@h>;tag=a\r\nTo: <sip:b@h>;tag={tag}\r\nCall-ID: c\r\n"
            f"CSeq: 1 INVITE\r\nRequire: 100rel\r\nRSeq: {rseq}\r\nContent-Length: 0\r\n\r\n"
        )
        message = parse_message(raw.encode())
        assert isinstance(message, Response)
        return message

    assert tracker.accept(response("x", "10")) == 10
    assert tracker.accept(response("x", "10")) is None  # retransmission
    assert tracker.accept(response("x", "12")) is None  # gap
    assert tracker.accept(response("x", "11")) == 11
    assert tracker.accept(response("y", "500")) == 500  # another fork's early dialog
    assert tracker.accept(response("x", "bogus")) is None


async def test_hanging_up_while_the_2xx_waits_for_a_prack_fails_the_invite() -> None:
    async with uas_with_raw_caller("Require: 100rel") as (bob, raw, session):
        session.progress(183, ANSWER)
        reliable = await next_of(raw, "183")
        session.answer(ANSWER)  # held: the caller has not PRACKed
        assert session.awaiting_prack
        await session.hangup("operator")
        failed = await next_of(raw, "480")
        assert failed.to_addr.tag == reliable.to_addr.tag
        assert session.terminated.result() == "operator"
        assert bob.dialogs == {}
        await asyncio.sleep(0.2)
        leftovers = raw.drain()
        assert not [m for m in leftovers if m.startswith((b"BYE", b"SIP/2.0 200"))]


async def test_2xx_after_an_unpracked_180_without_sdp_goes_out_and_a_late_prack_is_ok() -> None:
    async with uas_with_raw_caller("Require: 100rel") as (bob, raw, session):
        session.progress(180)
        ringing = await next_of(raw, "180")
        session.answer(ANSWER)  # RFC 3262 3: allowed, the 180 carried no SDP
        ok = await next_of(raw, "200")
        assert ok.headers.get("CSeq") == "1 INVITE"
        await asyncio.sleep(5 * FAST.t1)
        assert [m for m in raw.drain() if m.startswith(b"SIP/2.0 180")] == []  # stopped
        tag = ringing.to_addr.tag or ""
        rack = f"{ringing.headers.get('RSeq')} 1 INVITE"
        raw.send(prack_text(bob, raw, tag, rack, 1), bob.port)  # still matched
        assert (await next_of(raw, "200")).headers.get("CSeq") == "2 PRACK"
        assert session.pracked == 1
