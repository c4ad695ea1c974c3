"""The transaction layer over a real UDP socket: retransmissions, ACK, CANCEL, timeouts."""

from __future__ import annotations

import asyncio

import pytest

from softswitch.sip.address import Address
from softswitch.sip.message import Response
from softswitch.sip.parser import parse_message
from softswitch.sip.transaction import (
    ClientTransaction,
    Limits,
    ServerTransaction,
    Timers,
    TransactionState,
)
from softswitch.sip.transport import Peer
from softswitch.sip.ua import UserAgent
from softswitch.sip.uri import SipUri
from tests.sip.raw import RawUdp
from tests.sip.ua_pair import ua_and_raw

FAST = Timers(t1=0.05, t2=0.2, t4=0.2)


@pytest.fixture
async def pair():
    handled: list[ServerTransaction] = []
    async with ua_and_raw(handled.append, timers=FAST) as (ua, raw):
        yield ua, raw, handled


async def request_to_raw(ua: UserAgent, raw: RawUdp, method: str) -> ClientTransaction:
    """``method`` from the UA to the raw socket, sent: its client transaction."""
    target = SipUri("sip", "x", "127.0.0.1", raw.port)
    request = ua.new_request(
        method, target, Address(SipUri("sip", "me", "127.0.0.1")), Address(target)
    )
    return await ua.send(request, Peer("UDP", "127.0.0.1", raw.port))


def invite(raw_port: int, ua_port: int, branch: str = "z9hG4bKtest1", call_id: str = "c1") -> bytes:
    return (
        f"INVITE sip:102@127.0.0.1:{ua_port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{raw_port};branch={branch};rport\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:101@127.0.0.1>;tag=from1\r\n"
        f"To: <sip:102@127.0.0.1:{ua_port}>\r\n"
        f"Call-ID: {call_id}\r\n"
        "CSeq: 1 INVITE\r\n"
        f"Contact: <sip:101@127.0.0.1:{raw_port}>\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def ack_for(response: Response, raw_port: int, ua_port: int, branch: str = "z9hG4bKtest1") -> bytes:
    return (
        f"ACK sip:102@127.0.0.1:{ua_port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{raw_port};branch={branch};rport\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:101@127.0.0.1>;tag=from1\r\n"
        f"To: {response.headers.get('To')}\r\n"
        f"Call-ID: {response.call_id}\r\n"
        "CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
    ).encode()


async def test_invite_retransmission_reaches_the_tu_once(pair):
    ua, raw, handled = pair
    data = invite(raw.port, ua.port)
    raw.send(data, ua.port)
    assert (await raw.next()).status == 100
    raw.send(data, ua.port)
    assert (await raw.next()).status == 100  # the retransmission gets the last response again
    await asyncio.sleep(0.05)
    assert len(handled) == 1
    st = handled[0]
    st.respond(ua.response(st.request, 486, "Busy Here", to_tag="t1"))
    busy = await raw.next()
    assert busy.status == 486
    assert busy.top_via.params.get("rport") == str(raw.port)  # RFC 3581
    # no ACK yet: timer G retransmits the 486
    assert (await raw.next()).status == 486
    raw.send(ack_for(busy, raw.port, ua.port), ua.port)
    await asyncio.sleep(0.1)
    raw.drain()
    await asyncio.sleep(0.4)
    assert raw.drain() == []  # ACK stopped the retransmissions


async def test_cancel_gets_200_and_the_invite_487_with_the_same_tag(pair):
    ua, raw, handled = pair
    raw.send(invite(raw.port, ua.port), ua.port)
    assert (await raw.next()).status == 100
    await asyncio.sleep(0.02)
    st = handled[0]
    cancelled = []
    st.on_cancel = lambda: cancelled.append(True)
    st.respond(ua.response(st.request, 180, to_tag="ring1"))
    assert (await raw.next()).status == 180
    cancel = (
        f"CANCEL sip:102@127.0.0.1:{ua.port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{raw.port};branch=z9hG4bKtest1;rport\r\n"
        "Max-Forwards: 70\r\nFrom: <sip:101@127.0.0.1>;tag=from1\r\n"
        f"To: <sip:102@127.0.0.1:{ua.port}>\r\nCall-ID: c1\r\nCSeq: 1 CANCEL\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()
    raw.send(cancel, ua.port)
    responses = {(r.status, r.cseq[1]): r for r in [await raw.next(), await raw.next()]}
    assert set(responses) == {(200, "CANCEL"), (487, "INVITE")}
    assert responses[(487, "INVITE")].to_addr.tag == "ring1"
    assert cancelled == [True]


async def test_cancel_for_unknown_transaction_is_481(pair):
    ua, raw, _ = pair
    cancel = (
        f"CANCEL sip:102@127.0.0.1:{ua.port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{raw.port};branch=z9hG4bKnothere\r\n"
        "From: <sip:101@127.0.0.1>;tag=f\r\nTo: <sip:102@127.0.0.1>\r\nCall-ID: zz\r\n"
        "CSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    raw.send(cancel, ua.port)
    assert (await raw.next()).status == 481


async def test_client_retransmits_until_answered_then_times_out(pair):
    ua, raw, _ = pair
    ct = await request_to_raw(ua, raw, "OPTIONS")
    first = await raw.next()
    again = await raw.next()  # timer E
    assert first.top_via.branch == again.top_via.branch
    raw.send(first.make_response(200, to_tag="x").to_bytes(), ua.port)
    final = await asyncio.wait_for(ct.final, 2)
    assert final.status == 200
    # a second request nobody answers ends in a synthesized 408 after 64*T1
    ct2 = await request_to_raw(ua, raw, "OPTIONS")
    assert (await asyncio.wait_for(ct2.final, 10)).status == 408


async def test_non_2xx_to_our_invite_is_acked_hop_by_hop(pair):
    ua, raw, _ = pair
    ct = await request_to_raw(ua, raw, "INVITE")
    sent = await raw.next()
    raw.send(sent.make_response(486, to_tag="b").to_bytes(), ua.port)
    assert (await asyncio.wait_for(ct.final, 2)).status == 486
    ack = await raw.next()
    assert ack.method == "ACK" and ack.top_via.branch == sent.top_via.branch
    assert ack.to_addr.tag == "b"


async def test_malformed_request_gets_400_and_garbage_is_dropped(pair):
    ua, raw, handled = pair
    raw.send(b"\x00\xffnot sip at all\r\n\r\n", ua.port)
    bad = invite(raw.port, ua.port).replace(b"Max-Forwards: 70", b"Max-Forwards: many")
    raw.send(bad, ua.port)
    response = await raw.next()
    assert response.status == 400
    assert handled == []
    # the listener is still alive
    raw.send(invite(raw.port, ua.port, "z9hG4bKok", "c2"), ua.port)
    assert (await raw.next()).status == 100


async def test_server_invite_states_through_a_rejected_call(pair):
    ua, raw, handled = pair
    raw.send(invite(raw.port, ua.port), ua.port)
    assert (await raw.next()).status == 100
    await asyncio.sleep(0.02)
    st = handled[0]
    assert st.state == TransactionState.PROCEEDING == "proceeding"
    st.respond(ua.response(st.request, 603, to_tag="t"))
    assert st.state == TransactionState.COMPLETED
    decline = await raw.next()
    raw.send(ack_for(decline, raw.port, ua.port), ua.port)
    await asyncio.sleep(0.05)
    assert st.state == TransactionState.CONFIRMED
    await asyncio.sleep(FAST.t4 + 0.1)  # timer I
    assert st.state == TransactionState.TERMINATED
    st.respond(ua.response(st.request, 200))  # too late: ignored, nothing sent
    await asyncio.sleep(0.05)
    assert all(parse_message(d).status == 603 for d in raw.drain())  # no 200 went out


async def test_client_non_invite_states(pair):
    ua, raw, _ = pair
    ct = await request_to_raw(ua, raw, "OPTIONS")
    assert ct.state == TransactionState.TRYING
    sent = await raw.next()
    raw.send(sent.make_response(100).to_bytes(), ua.port)
    await asyncio.sleep(0.03)
    assert ct.state == TransactionState.PROCEEDING
    raw.send(sent.make_response(200, to_tag="x").to_bytes(), ua.port)
    await asyncio.wait_for(ct.final, 2)
    assert ct.state == TransactionState.COMPLETED  # absorbing retransmissions for T4
    await asyncio.sleep(FAST.t4 + 0.1)
    assert ct.state == TransactionState.TERMINATED


async def test_lingering_transactions_let_go_of_their_tu(pair):
    """A final response ends what the TU hears: a transaction absorbing retransmissions
    for 32 s must not keep the TU's callbacks (and the call they close over) alive."""
    ua, raw, handled = pair
    ct = await request_to_raw(ua, raw, "OPTIONS")
    heard: list[int] = []
    ct.on_response = lambda response: heard.append(response.status)
    sent = await raw.next()
    raw.send(sent.make_response(200, to_tag="x").to_bytes(), ua.port)
    await asyncio.wait_for(ct.final, 2)
    assert heard == [200]
    assert ct.state == TransactionState.COMPLETED and ct.on_response is None

    raw.send(invite(raw.port, ua.port), ua.port)
    await eventually_handled(handled)
    st = handled[0]
    st.on_cancel = lambda: None
    st.on_ack_timeout = lambda: None
    st.respond(st.request.make_response(200, to_tag="t"))
    assert st.state == TransactionState.ACCEPTED
    assert st.on_cancel is None and st.on_ack_timeout is None
    raw.send(invite(raw.port, ua.port, branch="z9hG4bKtest2", call_id="c2"), ua.port)
    await eventually_handled(handled, 2)
    rejected = handled[1]
    rejected.on_ack_timeout = lambda: None
    rejected.respond(rejected.request.make_response(486, to_tag="t"))
    # a non-2xx still waits for its ACK (timer H tells the TU), but hears no CANCEL
    assert rejected.state == TransactionState.COMPLETED
    assert rejected.on_cancel is None and rejected.on_ack_timeout is not None


async def eventually_handled(handled: list[ServerTransaction], count: int = 1) -> None:
    for _ in range(200):
        if len(handled) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the request did not reach the TU")


async def test_client_invite_ends_on_2xx(pair):
    ua, raw, _ = pair
    ct = await request_to_raw(ua, raw, "INVITE")
    assert ct.state == TransactionState.CALLING
    sent = await raw.next()
    raw.send(sent.make_response(200, to_tag="x").to_bytes(), ua.port)
    await asyncio.wait_for(ct.final, 2)
    assert ct.state == TransactionState.TERMINATED  # the TU ACKs a 2xx itself


async def test_a_ringing_invite_outlives_timer_b(pair):
    """RFC 3261 17.1.1.2: timer B only ends an INVITE still in Calling; once a
    provisional came, the call rings as long as the TU wants (its ring timeout,
    then CANCEL), not 64*T1 (32 s with the RFC's T1)."""
    ua, raw, _ = pair
    ct = await request_to_raw(ua, raw, "INVITE")
    sent = await raw.next()
    raw.send(sent.make_response(180, to_tag="r").to_bytes(), ua.port)
    await asyncio.sleep(64 * FAST.t1 + 0.5)
    assert ct.state == TransactionState.PROCEEDING and not ct.final.done()
    raw.send(sent.make_response(200, to_tag="r").to_bytes(), ua.port)
    assert (await asyncio.wait_for(ct.final, 2)).status == 200


async def test_a_ringing_invite_whose_peer_vanished_ends_at_timer_c():
    timers = Timers(t1=0.05, t2=0.2, t4=0.2, c=5)
    async with ua_and_raw(timers=timers) as (ua, raw):
        ct = await request_to_raw(ua, raw, "INVITE")
        sent = await raw.next()
        raw.send(sent.make_response(180, to_tag="r").to_bytes(), ua.port)
        final = await asyncio.wait_for(ct.final, 64 * 0.05 + 5 + 2)
        assert final.status == 408


async def test_a_stateless_refusal_keeps_no_transaction_and_is_never_retransmitted():
    def refuse(st: ServerTransaction) -> None:
        async def later() -> None:  # as the switch answers: from a task it spawns
            st.respond_stateless(ua.response(st.request, 401, "Unauthorized", to_tag="t9"))

        tasks.append(asyncio.get_running_loop().create_task(later()))

    tasks: list[asyncio.Task[None]] = []
    async with ua_and_raw(refuse, timers=FAST) as (ua, raw):
        data = invite(raw.port, ua.port)
        raw.send(data, ua.port)
        first = await raw.next()
        assert first.status == 401  # alone: no 100 Trying before it
        assert ua.layer is not None and ua.layer.server_transactions == 0
        await asyncio.sleep(0.5)  # timer G would have fired several times
        assert raw.drain() == []
        raw.send(ack_for(first, raw.port, ua.port), ua.port)
        raw.send(data, ua.port)  # a retransmission
        await asyncio.sleep(0.1)
        assert raw.drain() == [first.to_bytes()]  # the very same bytes, from the cache
        assert len(tasks) == 1  # the TU did not see it again
        assert ua.layer.server_transactions == 0
        assert ua.layer.source_transactions("127.0.0.1") == 0


async def test_beyond_the_per_source_cap_a_request_gets_a_stateless_503():
    handled: list[ServerTransaction] = []
    limits = Limits(100, 3, retry_after=7)
    async with ua_and_raw(handled.append, timers=FAST, limits=limits) as (ua, raw):
        for i in range(5):
            data = invite(raw.port, ua.port, branch=f"z9hG4bKcap{i}", call_id=f"cap{i}")
            raw.send(data, ua.port)
        answers = [await raw.next() for _ in range(5)]
        assert sorted(a.status for a in answers) == [100, 100, 100, 503, 503]
        busy = next(a for a in answers if a.status == 503)
        assert busy.headers.get("Retry-After") == "7"
        assert len(handled) == 3 and ua.layer is not None
        assert ua.layer.server_transactions == 3 and ua.layer.refused == 2
        for st in handled:  # once they end, the source may start new ones
            st.respond(ua.response(st.request, 486, "Busy Here", to_tag="b"))
            st.ack()
        await asyncio.sleep(0.3)  # timer I
        assert ua.layer.server_transactions == 0
        assert ua.layer.source_transactions("127.0.0.1") == 0
        raw.drain()
        raw.send(invite(raw.port, ua.port, branch="z9hG4bKcapN", call_id="capN"), ua.port)
        assert (await raw.next()).status == 100


async def test_the_total_cap_counts_every_source():
    handled: list[ServerTransaction] = []
    ua = UserAgent("127.0.0.1", 0, handled.append, timers=FAST, limits=Limits(2, 100))
    await ua.start()
    one, two = await RawUdp.open(), await RawUdp.open()
    try:
        for raw, i in ((one, 0), (two, 1), (two, 2)):
            data = invite(raw.port, ua.port, branch=f"z9hG4bKtot{i}", call_id=f"tot{i}")
            raw.send(data, ua.port)
        assert (await one.next()).status == 100
        statuses = sorted([(await two.next()).status, (await two.next()).status])
        assert statuses == [100, 503]
    finally:
        one.close()
        two.close()
        await ua.stop()


async def test_an_uncapped_source_goes_past_its_per_source_cap_up_to_the_total():
    handled: list[ServerTransaction] = []
    async with ua_and_raw(handled.append, timers=FAST, limits=Limits(4, 1)) as (ua, raw):
        assert ua.layer is not None
        ua.layer.uncapped = lambda host, port: host == "127.0.0.1"  # a trunk, say
        for i in range(5):
            data = invite(raw.port, ua.port, branch=f"z9hG4bKun{i}", call_id=f"un{i}")
            raw.send(data, ua.port)
        statuses = sorted([(await raw.next()).status for _ in range(5)])
        assert statuses == [100, 100, 100, 100, 503]  # the total cap still holds


async def test_a_branchless_rfc2543_request_ends_its_transaction_too(pair):
    ua, raw, handled = pair
    data = invite(raw.port, ua.port).replace(b"branch=z9hG4bKtest1", b"branch=old1")
    raw.send(data, ua.port)
    assert (await raw.next()).status == 100
    await asyncio.sleep(0.02)
    st = handled[0]
    st.respond(ua.response(st.request, 486, "Busy Here", to_tag="t1"))
    busy = await raw.next()
    ack = ack_for(busy, raw.port, ua.port).replace(b"branch=z9hG4bKtest1", b"branch=old1")
    raw.send(ack, ua.port)
    await asyncio.sleep(0.4)  # timer I
    assert ua.layer is not None and ua.layer.server_transactions == 0
    assert ua.layer.source_transactions("127.0.0.1") == 0


async def test_closing_the_layer_ends_the_wait_of_an_unanswered_request():
    """A switch stopping while a fork still rings (no final answer, timer B far away):
    the task waiting for the answer ends, it is not left pending when the loop closes."""
    async with ua_and_raw(timers=Timers(t1=0.5, t2=4.0, t4=5.0)) as (ua, raw):
        ct = await request_to_raw(ua, raw, "INVITE")
        await raw.next()
        waiting = asyncio.ensure_future(ct.final)
        assert ua.layer is not None
        ua.layer.close()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(waiting, 1)
