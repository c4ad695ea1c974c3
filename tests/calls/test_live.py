"""The live-call registry: what it lists and counts, on real channels of a real switch."""

from __future__ import annotations

import asyncio
import time

import pytest

from softswitch.calls import ChannelNotFound, LiveChannel, LiveStatistics
from softswitch.calls.cdrs import CdrBuilder
from softswitch.calls.live import CallKind, LiveCall, LiveCalls
from softswitch.channel import ChannelState
from softswitch.store.cdrs import Cdr
from softswitch.store.webhooks import WebhookStore
from softswitch.webhooks.events import WebhookEvents
from tests.calls.conftest import ACCOUNT, FAR


def otp_call(request_id: str = "0123456789", account: str = ACCOUNT) -> LiveCall:
    return LiveCall(account, request_id, CallKind.OTP, "555", "", FAR)


async def test_the_registry_is_a_mapping_by_request_id(switch) -> None:
    calls = LiveCalls(switch, WebhookEvents(WebhookStore(switch.store.db)))
    assert calls == {}
    first, again = otp_call(), otp_call()
    assert calls.add(first) == "0123456789"
    key = calls.add(again)  # a request id that is taken gets a suffix: both stay listed
    assert key.startswith("0123456789:") and calls == {"0123456789": first, key: again}
    calls.remove("0123456789")
    calls.remove("0123456789")  # twice is harmless
    assert list(calls) == [key] and len(calls) == 1


async def test_live_channels_are_listed_with_their_call(switch) -> None:
    calls = LiveCalls(switch, WebhookEvents(WebhookStore(switch.store.db)))
    call = otp_call()
    calls.add(call)
    before = time.time()
    channel = await switch.originate(FAR, caller_id="555")
    call.add(channel)
    assert calls.listing("account_2") == []
    assert calls.listing(ACCOUNT) == [
        LiveChannel(
            channel=channel.name,
            request_id="0123456789",
            kind=CallKind.OTP,
            state=ChannelState.DOWN,
            number=FAR,
            agent_number="",
            customer_number=FAR,
            caller_id="555",
            bridged_channel="",
            started_at=channel.created_at,
        )
    ]
    assert before - 1 < channel.created_at <= time.time()
    assert calls.find(ACCOUNT, f"  {channel.name} ") == (call, channel)
    with pytest.raises(ChannelNotFound) as missing:
        calls.find("account_2", channel.name)
    assert missing.value.channel == channel.name
    await channel.hangup("done")
    assert calls.listing(ACCOUNT) == []
    with pytest.raises(ChannelNotFound):
        calls.find(ACCOUNT, channel.name)


async def test_bridged_channels_name_each_other(switch) -> None:
    calls = LiveCalls(switch, WebhookEvents(WebhookStore(switch.store.db)))
    call = LiveCall(ACCOUNT, "0123456789", CallKind.C2C, "555", "101", FAR)
    calls.add(call)
    a = await switch.originate(FAR, caller_id="555")
    b = await switch.originate(FAR, caller_id="555")
    call.add(a)
    call.add(b)
    bridge = switch.bridge(a, b)
    rows = {row.channel: row for row in calls.listing(ACCOUNT)}
    assert rows[a.name].bridged_channel == b.name and rows[b.name].bridged_channel == a.name
    assert {row.kind for row in rows.values()} == {CallKind.C2C}
    assert {row.agent_number for row in rows.values()} == {"101"}
    bridge.stop()
    await a.hangup()
    await b.hangup()


async def test_statistics_count_calls_in_progress_by_kind_and_account(switch) -> None:
    calls = LiveCalls(switch, WebhookEvents(WebhookStore(switch.store.db)))
    assert calls.statistics(ACCOUNT) == LiveStatistics(c2c=0, campaign=0, inbound=0, otp=0)
    for i, kind in enumerate([CallKind.C2C, CallKind.C2C, CallKind.CAMPAIGN, CallKind.OTP]):
        calls.add(LiveCall(ACCOUNT, f"call{i}", kind, "555", "", FAR))
    calls.add(LiveCall("account_2", "other", CallKind.OTP, "555", "", FAR))
    over = LiveCall(ACCOUNT, "over", CallKind.OTP, "555", "", FAR)
    over.ended.set()  # its CDR is being written: no longer in progress
    calls.add(over)
    assert calls.statistics(ACCOUNT) == LiveStatistics(c2c=2, campaign=1, inbound=0, otp=1)
    assert calls.statistics("account_2") == LiveStatistics(otp=1)


async def test_a_call_ends_when_its_last_channel_hangs_up(switch) -> None:
    call = otp_call()
    a = await switch.originate(FAR, caller_id="555")
    b = await switch.originate(FAR, caller_id="555")
    call.add(a)
    call.add(b)
    await a.hangup()
    assert not call.ended.is_set() and call.live_channels() == [b]
    await asyncio.sleep(0.05)
    await b.hangup()
    assert call.ended.is_set() and call.live_channels() == []
    assert call.last_hangup() == b.ended_at > a.ended_at
    assert call.tap is None
    a.dtmf_inputs.extend("12")
    b.dtmf_inputs.append("#")
    assert call.dtmf_inputs() == "12#"


def otp_cdr(call: LiveCall) -> Cdr:
    """The CDR of an unanswered outbound-api ``call`` to FAR, as it ended."""
    return CdrBuilder().build(
        call,
        sip_status=200,
        answered_at=None,
        ended_at=call.last_hangup(),
        direction="outbound-api",
        context="otp",
        customer_number=FAR,
        dtmf_inputs="",
        recording_name="",
    )


async def test_the_hangup_cause_is_the_first_channel_s_and_reaches_the_cdr(switch) -> None:
    call = otp_call()
    a = await switch.originate(FAR, caller_id="555")
    b = await switch.originate(FAR, caller_id="555")
    call.add(a)
    call.add(b)
    assert call.hangup_cause() == ""
    await a.hangup("rtp timeout")
    await asyncio.sleep(0.01)
    await b.hangup("normal clearing")  # the other leg, hung up because of the first
    assert call.hangup_cause() == "rtp timeout"
    cdr = otp_cdr(call)
    assert cdr.hangup_cause == "rtp timeout"


async def test_a_phone_s_transfer_joins_the_target_to_the_call_and_reaches_the_cdr(
    switch,
) -> None:
    calls = LiveCalls(switch, WebhookEvents(WebhookStore(switch.store.db)))
    call = otp_call()
    calls.add(call)
    referrer = await switch.originate(FAR, caller_id="555")
    transferee = await switch.originate(FAR, caller_id="555")
    target = await switch.originate("5550103", caller_id="555")
    call.add(referrer)
    call.add(transferee)
    stranger = await switch.originate(FAR, caller_id="555")
    calls.transferred(stranger, stranger, target)  # no call of ours: nothing recorded
    assert call.transfers == []
    calls.transferred(referrer, transferee, target)
    assert call.channels == [referrer, transferee, target]
    assert call.transfers == [f"{FAR} transferred {FAR} to 5550103"]
    for channel in (referrer, transferee, target, stranger):
        await channel.hangup()
    assert call.ended.is_set()  # the target's hang-up counts too
    cdr = otp_cdr(call)
    assert cdr.transfers == f"{FAR} transferred {FAR} to 5550103"
