"""Session timers (RFC 4028): the negotiation rules, the clock, and two real UserAgents on
127.0.0.1 that refresh by UPDATE or re-INVITE, retry after a 422, and hang up when the
refresh they wait for never comes.

The intervals are a few seconds (the RFC's floor is 90 s): the timer math is the same.
"""

from __future__ import annotations

import asyncio

import pytest

from softswitch.sip.errors import SipParseError
from softswitch.sip.headers import Headers
from softswitch.sip.invite import IncomingInvite, OutgoingInvite
from softswitch.sip.message import Request, Response
from softswitch.sip.session_timer import (
    EXPIRED_CAUSE,
    Agreement,
    IntervalTooSmall,
    Refresher,
    SessionExpires,
    SessionTimer,
    TimerPolicy,
    agree_as_uac,
    agree_as_uas,
    allows_update,
    expiry_delay,
    supports_timer,
)
from softswitch.sip.uri import SipUri
from tests.sip.ua_pair import ANSWER, OFFER, Pair, eventually

SHORT = TimerPolicy(session_expires=2, min_se=1)


def invite(**headers: str) -> Request:
    h = Headers()
    for name, value in headers.items():
        h.add(name.replace("_", "-"), value)
    return Request("INVITE", SipUri.parse("sip:bob@127.0.0.1"), h, b"")


def ok(**headers: str) -> Response:
    h = Headers()
    for name, value in headers.items():
        h.add(name.replace("_", "-"), value)
    return Response(200, "OK", h, b"")


# -- the rules ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("1800", SessionExpires(1800)),
        ("90;refresher=uac", SessionExpires(90, Refresher.UAC)),
        ("4000 ; Refresher=UAS;x=1", SessionExpires(4000, Refresher.UAS)),
    ],
)
def test_session_expires_parses(value: str, parsed: SessionExpires) -> None:
    assert SessionExpires.parse(value) == parsed


@pytest.mark.parametrize("value", ["", "0", "-5", "soon", "90;refresher=proxy"])
def test_bad_session_expires_is_a_parse_error(value: str) -> None:
    with pytest.raises(SipParseError):
        SessionExpires.parse(value)


def test_an_interval_below_our_min_se_from_a_timer_uac_is_422() -> None:
    policy = TimerPolicy(1800, 120)
    with pytest.raises(IntervalTooSmall) as raised:
        agree_as_uas(invite(Supported="timer", Session_Expires="90"), policy)
    assert raised.value.min_se == 120


def test_a_uac_without_timer_support_is_raised_to_our_minimum_and_we_refresh() -> None:
    # it cannot retry after a 422 (a proxy added the header), so RFC 4028 9 has us raise it
    agreed = agree_as_uas(invite(Session_Expires="90"), TimerPolicy(1800, 120))
    assert agreed == Agreement(120, Refresher.UAS, require=False)


def test_the_uacs_refresher_choice_is_kept_and_timer_required() -> None:
    agreed = agree_as_uas(
        invite(Supported="100rel, timer", Session_Expires="600;refresher=uas"), TimerPolicy()
    )
    assert agreed == Agreement(600, Refresher.UAS, require=True)
    assert agreed.response_headers() == [
        ("Session-Expires", "600;refresher=uas"),
        ("Require", "timer"),
    ]


def test_a_timer_uac_that_leaves_the_choice_refreshes_itself() -> None:
    agreed = agree_as_uas(invite(Supported="timer", Session_Expires="600"), TimerPolicy())
    assert agreed is not None and agreed.refresher == Refresher.UAC


def test_no_session_expires_gets_ours_unless_we_ask_for_none() -> None:
    assert agree_as_uas(invite(), TimerPolicy(1800, 90)) == Agreement(1800, Refresher.UAS)
    # its Min-SE (after a 422 from someone on the path) counts
    assert agree_as_uas(invite(Min_SE="2000", Supported="timer"), TimerPolicy(1800, 90)) == (
        Agreement(2000, Refresher.UAC, require=True)
    )
    assert agree_as_uas(invite(), TimerPolicy(0, 90)) is None


def test_what_a_2xx_settles_for_the_uac() -> None:
    assert agree_as_uac(ok()) is None
    assert agree_as_uac(ok(Session_Expires="900;refresher=uas")) == Agreement(900, Refresher.UAS)
    assert agree_as_uac(ok(Session_Expires="900")) == Agreement(900, Refresher.UAC)
    assert agree_as_uac(ok(Session_Expires="never")) is None


def test_option_tags_and_allow_are_read_from_lists() -> None:
    assert supports_timer(invite(Supported="100rel,Timer"))
    assert supports_timer(invite(Require="timer"))
    assert not supports_timer(invite(Supported="100rel"))
    assert allows_update(ok(Allow="INVITE, ACK, update"))
    assert not allows_update(ok(Allow="INVITE, ACK, BYE"))


def test_the_bye_goes_out_before_the_interval_ends() -> None:
    # RFC 4028 10: the smaller of 32 s and a third of the interval before it ends
    assert expiry_delay(90) == 60
    assert expiry_delay(1800) == 1768
    assert expiry_delay(3) == 2


async def test_the_clock_refreshes_at_half_or_expires_near_the_end() -> None:
    fired: list[tuple[str, float]] = []
    loop = asyncio.get_running_loop()
    start = loop.time()
    timer = SessionTimer(
        lambda: fired.append(("refresh", loop.time() - start)),
        lambda: fired.append(("expire", loop.time() - start)),
    )
    timer.arm(1, we_refresh=True)
    await eventually(lambda: bool(fired))
    assert fired[0][0] == "refresh" and 0.45 <= fired[0][1] < 0.8
    start = loop.time()
    timer.arm(3, we_refresh=False)
    timer.arm(3, we_refresh=False)  # re-arming replaces: one expiry, not two
    await asyncio.sleep(2.3)
    assert [kind for kind, _ in fired] == ["refresh", "expire"]
    assert 1.95 <= fired[1][1] < 2.3
    timer.arm(1, we_refresh=True)
    timer.cancel()
    await asyncio.sleep(0.7)
    assert len(fired) == 2 and not timer.running


# -- two user agents ------------------------------------------------------------


def timed_call(pair: Pair, policy: TimerPolicy | None = SHORT, **headers: str) -> OutgoingInvite:
    call = pair.call()
    call.timer_policy = policy
    if policy is not None:
        call.request.headers.add("Supported", "timer")
        call.request.headers.add("Session-Expires", str(policy.session_expires))
    for name, value in headers.items():
        call.request.headers.add(name.replace("_", "-"), value)
    return call


async def answered(
    pair: Pair, call: OutgoingInvite, policy: TimerPolicy = SHORT
) -> tuple[IncomingInvite, Response]:
    task = asyncio.ensure_future(call.run())
    bob = await pair.ringing()
    assert bob.negotiate_timer(policy)
    bob.answer(ANSWER)
    return bob, await asyncio.wait_for(task, 2)


def in_dialog_requests(session: IncomingInvite | OutgoingInvite) -> list[Request]:
    """Record the in-dialog requests ``session`` receives (they are answered as before)."""
    seen: list[Request] = []
    handle = session.on_request

    def record(st):  # type: ignore[no-untyped-def]
        seen.append(st.request)
        handle(st)

    session.on_request = record  # type: ignore[method-assign]
    return seen


async def test_uac_refreshes_with_update_and_the_call_outlives_its_interval(pair: Pair) -> None:
    call = timed_call(pair)
    bob, final = await answered(pair, call)
    assert final.headers.get("Session-Expires") == "2;refresher=uac"
    assert final.headers.get("Require") == "timer"
    assert call.peer_allows_update and call.session_timer.we_refresh
    assert bob.session_timer.running and not bob.session_timer.we_refresh
    seen = in_dialog_requests(bob)
    reoffers: list[bytes] = []
    bob.on_reoffer = lambda body: reoffers.append(body) or ANSWER
    await asyncio.sleep(3.5)  # past 1.33 s, when Bob would hang up unrefreshed
    assert not bob.terminated.done() and not call.terminated.done()
    assert [r.method for r in seen][:3] == ["UPDATE"] * 3  # at 1, 2 and 3 s
    assert seen[0].body == b"" and reoffers == []
    assert seen[0].headers.get("Session-Expires") == "2;refresher=uac"
    assert "timer" in (seen[0].headers.get("Supported") or "")
    await call.hangup()
    assert await asyncio.wait_for(bob.terminated, 2) == "remote BYE"


async def test_refresh_by_reinvite_repeats_our_sdp_when_update_is_not_allowed(
    pair: Pair,
) -> None:
    call = timed_call(pair)
    bob, _ = await answered(pair, call)
    call.peer_allows_update = False  # as if Bob's Allow did not list UPDATE
    reoffers: list[bytes] = []
    bob.on_reoffer = lambda body: reoffers.append(body) or ANSWER
    answers: list[tuple[bytes, bytes]] = []
    call.on_answer = lambda offer, answer: answers.append((offer, answer))
    await asyncio.sleep(2.6)
    assert not bob.terminated.done() and not call.terminated.done()
    assert reoffers[:2] == [OFFER, OFFER]  # the same session description, at 1 and 2 s
    assert answers[0] == (OFFER, ANSWER)
    # our re-INVITE's 2xx was ACKed: Bob stopped retransmitting it and kept the call
    await eventually(lambda: bob._pending_2xx is None)
    await call.hangup()


async def test_a_422_is_retried_once_with_the_larger_min_se(pair: Pair) -> None:
    call = timed_call(pair)
    task = asyncio.ensure_future(call.run())
    first = await pair.ringing()
    assert not first.negotiate_timer(TimerPolicy(1800, 3))  # answers 422, Min-SE: 3
    second = await pair.ringing()
    assert second.request.call_id == first.request.call_id
    assert second.request.cseq[0] == first.request.cseq[0] + 1
    assert second.request.headers.get("Session-Expires") == "3"
    assert second.request.headers.get("Min-SE") == "3"
    assert second.negotiate_timer(TimerPolicy(1800, 3))
    second.answer(ANSWER)
    final = await asyncio.wait_for(task, 2)
    assert final.status == 200
    assert call.session_timer.interval == 3 and call.session_timer.we_refresh
    await call.hangup()


async def test_a_second_422_ends_the_call_attempt(pair: Pair) -> None:
    call = timed_call(pair)
    task = asyncio.ensure_future(call.run())
    assert not (await pair.ringing()).negotiate_timer(TimerPolicy(1800, 3))
    assert not (await pair.ringing()).negotiate_timer(TimerPolicy(1800, 5))
    final = await asyncio.wait_for(task, 2)
    assert final.status == 422 and final.headers.get("Min-SE") == "5"
    assert pair.incoming.empty()


async def test_a_missed_refresh_ends_the_call_with_a_bye(pair: Pair) -> None:
    # Alice asks for a 2 s timer refreshed by her, then never refreshes (no policy of hers)
    call = timed_call(pair, None, Supported="timer", Session_Expires="2;refresher=uac")
    bob, final = await answered(pair, call)
    assert final.headers.get("Session-Expires") == "2;refresher=uac"
    ended: list[str] = []
    bob.on_session_end = ended.append
    start = asyncio.get_running_loop().time()
    assert await asyncio.wait_for(call.terminated, 4) == "remote BYE"
    took = asyncio.get_running_loop().time() - start
    assert 1.1 <= took <= 1.8, took  # 2 s minus a third of it
    assert ended == [EXPIRED_CAUSE]
    assert bob.terminated.result() == EXPIRED_CAUSE


async def test_the_uas_refreshes_when_it_is_the_refresher(pair: Pair) -> None:
    call = timed_call(pair)
    call.request.headers.set("Session-Expires", "2;refresher=uas")
    bob, final = await answered(pair, call)
    assert final.headers.get("Session-Expires") == "2;refresher=uas"
    assert bob.session_timer.we_refresh and not call.session_timer.we_refresh
    seen = in_dialog_requests(call)
    await asyncio.sleep(2.6)
    assert not call.terminated.done() and not bob.terminated.done()
    assert [r.method for r in seen][:2] == ["UPDATE", "UPDATE"]  # Alice's INVITE allows it
    # in Bob's refresh he is the UAC of the transaction: refresher=uac names him
    assert seen[0].headers.get("Session-Expires") == "2;refresher=uac"
    await bob.hangup()


async def test_a_refresh_answered_481_hangs_up(pair: Pair) -> None:
    call = timed_call(pair)
    bob, _ = await answered(pair, call)
    ended: list[str] = []
    call.on_session_end = ended.append
    assert bob.dialog is not None
    pair.bob.dialogs.pop(bob.dialog.id)  # Bob forgot the call: in-dialog requests get 481
    assert await asyncio.wait_for(call.terminated, 3) == "session refresh failed"
    assert ended == ["session refresh failed"]


async def test_timers_are_off_when_neither_side_asks(pair: Pair) -> None:
    call = pair.call()
    task = asyncio.ensure_future(call.run())
    bob = await pair.ringing()
    assert bob.negotiate_timer(TimerPolicy(0, 90))
    bob.answer(ANSWER)
    final = await asyncio.wait_for(task, 2)
    assert "Session-Expires" not in final.headers
    assert not bob.session_timer.running and not call.session_timer.running
    await call.hangup()


async def test_an_update_refused_with_405_falls_back_to_reinvite(pair: Pair) -> None:
    call = timed_call(pair)
    bob, _ = await answered(pair, call)
    assert call.peer_allows_update  # Bob's Allow says UPDATE, but his answer is 405
    handle = bob.on_request

    def no_update(st):  # type: ignore[no-untyped-def]
        if st.request.method == "UPDATE":
            st.respond(pair.bob.response(st.request, 405, "Method Not Allowed"))
        else:
            handle(st)

    bob.on_request = no_update  # type: ignore[method-assign]
    reoffers: list[bytes] = []
    bob.on_reoffer = lambda body: reoffers.append(body) or ANSWER
    await eventually(lambda: bool(reoffers), timeout=3)
    assert reoffers[0] == OFFER
    await asyncio.sleep(1.5)  # past when Bob would have hung up without the re-INVITE
    assert not call.terminated.done() and not bob.terminated.done()
    await call.hangup()


async def test_a_refused_refresh_keeps_the_call_and_tries_again(pair: Pair) -> None:
    call = timed_call(pair)
    bob, _ = await answered(pair, call)
    bob.session_timer.cancel()  # Bob never times out the session here: only Alice's side
    refused: list[str] = []
    handle = bob.on_request

    def busy(st):  # type: ignore[no-untyped-def]
        if st.request.method == "UPDATE":
            refused.append(st.request.method)
            st.respond(pair.bob.response(st.request, 500, "Busy Now"))
        else:
            handle(st)

    bob.on_request = busy  # type: ignore[method-assign]
    await asyncio.sleep(2.4)  # refreshes at 1 s and 2 s, both refused
    assert len(refused) >= 2
    assert not call.terminated.done() and call.session_timer.running
    await call.hangup()
