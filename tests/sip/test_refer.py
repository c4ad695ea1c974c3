"""REFER (RFC 3515) between two real UserAgents on 127.0.0.1: the Refer-To target, the
202, and the implicit subscription's NOTIFYs with message/sipfrag progress."""

from __future__ import annotations

import asyncio

import pytest

from softswitch.sip.errors import SipParseError
from softswitch.sip.message import Request
from softswitch.sip.parser import parse_message
from softswitch.sip.refer import ReferSubscription, ReferTo
from softswitch.sip.transaction import ServerTransaction
from tests.sip.ua_pair import Pair, eventually


def refer(to: list[str]) -> Request:
    text = (
        "REFER sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKr1\r\n"
        "From: <sip:alice@127.0.0.1>;tag=a\r\nTo: <sip:bob@127.0.0.1>;tag=b\r\n"
        "Call-ID: refer-1\r\nCSeq: 7 REFER\r\nMax-Forwards: 70\r\n"
        + "".join(f"Refer-To: {value}\r\n" for value in to)
        + "Content-Length: 0\r\n\r\n"
    )
    parsed = parse_message(text.encode())
    assert isinstance(parsed, Request)
    return parsed


def test_a_blind_refer_to_names_the_target() -> None:
    target = ReferTo.of(refer(["<sip:103@switch.example;transport=udp>"]))
    assert target.uri.user == "103" and target.uri.host == "switch.example"
    assert target.replaces is None


def test_an_attended_refer_to_carries_the_replaces_of_the_consultation_call() -> None:
    value = "<sip:103@switch?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2>"
    target = ReferTo.of(refer([value]))
    assert target.uri.user == "103" and not target.uri.headers  # the header is taken out
    assert target.replaces is not None
    assert target.replaces.dialog_id == ("abc@host", "1", "2")


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ([], "without Refer-To"),
        (["<sip:1@h>", "<sip:2@h>"], "more than one"),
        (["<mailto:x@h>"], "not a SIP URI"),
        (["<sip:1@h?Replaces=abc%3Bto-tag%3D1%3Bearly-only%3Dyes>"], "early-only"),
    ],
)
def test_a_bad_refer_to_is_a_parse_error(values: list[str], words: str) -> None:
    with pytest.raises(SipParseError, match=words):
        ReferTo.of(refer(values))


async def test_refer_in_a_dialog_is_accepted_and_notified_to_the_end(pair: Pair) -> None:  # noqa: F811
    call, bob, _ = await pair.connected()
    assert call.dialog is not None
    subscriptions: list[ReferSubscription] = []

    def on_refer(st: ServerTransaction) -> None:
        st.respond(pair.bob.response(st.request, 202, "Accepted"))
        subscription = ReferSubscription(bob, st.request)
        subscription.notify(100, "Trying")
        subscriptions.append(subscription)

    bob.on_refer = on_refer
    notifies: list[Request] = []

    def alice_hears(st: ServerTransaction) -> None:  # the referrer's side of the dialog
        notifies.append(st.request)
        st.respond(pair.alice.response(st.request, 200))

    call.on_request = alice_hears  # type: ignore[method-assign]
    request = call.dialog.create_request("REFER", pair.alice.via())
    request.headers.add("Refer-To", "<sip:103@127.0.0.1>")
    ct = await pair.alice.send(request, call.dialog.peer)
    assert (await asyncio.wait_for(ct.final, 2)).status == 202
    await eventually(lambda: len(notifies) == 1)
    trying = notifies[0]
    assert trying.method == "NOTIFY" and trying.call_id == call.dialog.call_id
    assert trying.headers.get("Event") == f"refer;id={request.cseq[0]}"
    assert trying.headers.get("Subscription-State") == "active;expires=60"
    assert trying.headers.get("Content-Type") == "message/sipfrag;version=2.0"
    assert trying.body == b"SIP/2.0 100 Trying\r\n"

    await subscriptions[0].notify_and_wait(404, "Not Found", 2.0)
    assert len(notifies) == 2
    final = notifies[1]
    assert final.headers.get("Subscription-State") == "terminated;reason=noresource"
    assert final.body == b"SIP/2.0 404 Not Found\r\n"
    assert final.cseq[0] > trying.cseq[0]
    assert subscriptions[0].notify(200, "OK") is None  # the subscription is over
    assert bob.state == call.state  # the call itself goes on
