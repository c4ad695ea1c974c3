"""modify_call's actions and refusals, on real channels of a real switch (no phones: the
carrier never answers, so the legs stay down and the transfers stop at ringing)."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import numpy as np
import pytest

from softswitch.calls import (
    AlreadyRecording,
    BadTransferTarget,
    CallAction,
    CallService,
    ChannelNotFound,
    NotBridged,
)
from softswitch.calls.live import CallKind, LiveCall
from softswitch.channel import Channel, ChannelState
from tests.calls.conftest import ACCOUNT, FAR


async def c2c(service: CallService, *, bridged: bool) -> tuple[LiveCall, Channel, Channel]:
    """A click2call's agent and customer legs, registered with the service."""
    switch = service.switch
    call = LiveCall(ACCOUNT, "0123456789", CallKind.C2C, "555", "101", FAR)
    service.calls.add(call)
    agent = await switch.originate(FAR, caller_id="555")
    customer = await switch.originate(FAR, caller_id="555")
    call.agent, call.customer = agent, customer
    call.add(agent)
    call.add(customer)
    if bridged:
        service.switch.bridge(customer, agent)  # the customer first: the tap must swap
    return call, agent, customer


def test_actions_are_the_specs_modify_types() -> None:
    assert [int(a) for a in CallAction] == [0, 1, 2, 3]
    assert CallAction(0) is CallAction.BLIND_TRANSFER
    assert CallAction(3) is CallAction.START_RECORDING


async def test_refusals(service) -> None:
    _, agent, _ = await c2c(service, bridged=False)
    with pytest.raises(ChannelNotFound):
        await service.modify_call(ACCOUNT, "SIP/101-0000023c", CallAction.HANGUP)
    with pytest.raises(ChannelNotFound):
        await service.modify_call("account_2", agent.name, CallAction.HANGUP)
    with pytest.raises(BadTransferTarget) as missing:
        await service.modify_call(ACCOUNT, agent.name, CallAction.BLIND_TRANSFER)
    assert missing.value.number is None
    for action in (CallAction.BLIND_TRANSFER, CallAction.ATTENDED_TRANSFER):
        with pytest.raises(NotBridged) as not_bridged:
            await service.modify_call(ACCOUNT, agent.name, action, FAR)
        assert not_bridged.value.channel == agent.name
    with pytest.raises(NotBridged):
        await service.modify_call(ACCOUNT, agent.name, CallAction.START_RECORDING)
    assert agent.state == ChannelState.DOWN


async def test_hangup(service) -> None:
    _, agent, customer = await c2c(service, bridged=False)
    await service.modify_call(ACCOUNT, f" {agent.name}", CallAction.HANGUP)
    assert (agent.state, agent.cause) == (ChannelState.HUNGUP, "hung up by API")
    assert customer.state == ChannelState.DOWN


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)


async def test_recording_started_mid_call_keeps_agent_and_customer_apart(service) -> None:
    call, agent, customer = await c2c(service, bridged=True)
    bridge = agent.bridge
    assert bridge is not None and bridge.a is customer
    await service.modify_call(ACCOUNT, agent.name, CallAction.START_RECORDING)
    bridge.stop()  # no media tick from here: only the frame fed below is recorded
    assert call.keep_recording and call.recorder is not None and bridge.tap is not None
    with pytest.raises(AlreadyRecording):
        await service.modify_call(ACCOUNT, customer.name, CallAction.START_RECORDING)
    bridge.tap(np.full(160, -1000, np.int16), np.full(160, 1000, np.int16))  # (a, b)
    files = call.recorder.close()
    assert files.agent is not None and files.customer is not None
    assert set(read_wav(files.agent)) == {1000}
    assert set(read_wav(files.customer)) == {-1000}
    assert files.agent.parent == Path(service.switch.config.media.recordings_dir) / ACCOUNT


async def test_a_recording_made_for_a_transcript_is_kept_when_asked_for(service, tmp_path) -> None:
    from media.recorder import CallRecorder

    call, agent, _ = await c2c(service, bridged=True)
    call.recorder = CallRecorder(tmp_path, call.request_id, "both")
    await service.modify_call(ACCOUNT, agent.name, CallAction.START_RECORDING)
    assert call.keep_recording
    call.recorder.close()


async def until(predicate, what: str) -> None:
    for _ in range(300):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(what)


async def test_blind_transfer_sends_the_party_to_the_new_number(service) -> None:
    call, agent, customer = await c2c(service, bridged=True)
    clock = service.switch.clock
    ticking = len(clock)  # the bridge among them
    await service.modify_call(ACCOUNT, agent.name, CallAction.BLIND_TRANSFER, FAR)
    assert (agent.state, agent.cause) == (ChannelState.HUNGUP, "blind transfer")
    await until(lambda: len(call.channels) == 3, "the transfer target dialed")
    target = call.channels[2]
    assert customer.state == ChannelState.DOWN and customer.bridge is None
    assert len(clock) == ticking  # the bridge is gone, the customer hears ringback
    await customer.hangup("customer left")
    assert await asyncio.wait_for(target.hungup, 5) == "caller hung up"
    await until(lambda: len(clock) == ticking - 1, "the ringback stopped")


async def test_attended_transfer_holds_the_customer_while_the_agent_consults(service) -> None:
    call, agent, customer = await c2c(service, bridged=True)
    clock = service.switch.clock
    ticking = len(clock)  # the bridge among them
    await service.modify_call(ACCOUNT, customer.name, CallAction.ATTENDED_TRANSFER, FAR)
    await until(lambda: len(call.channels) == 3, "the transfer target dialed")
    target = call.channels[2]
    # the bridge is gone; ringback to both: the customer on hold, the agent consulting
    assert len(clock) == ticking + 1
    assert agent.state == customer.state == ChannelState.DOWN
    await target.hangup("busy")  # no answer: back to the customer (neither is up here)
    await until(lambda: len(clock) == ticking - 1, "both hear ringback no more")
    assert agent.bridge is None and customer.bridge is None
    await agent.hangup()
    await customer.hangup()
