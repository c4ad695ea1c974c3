"""Live-call control (modify_call): transfers, hang-up, starting a recording."""

from __future__ import annotations

import asyncio
from enum import IntEnum

from media.recorder import RecordingOption

from ..channel import Channel, ChannelState
from ..switch import SwitchError
from .errors import AlreadyRecording, BadTransferTarget, NotBridged
from .legs import Follow, Legs
from .live import LiveCall, LiveCalls
from .recording import Recordings
from .tasks import CallTasks


class CallAction(IntEnum):
    """What modify_call does; the values are the CPaaS spec's modify_type."""

    BLIND_TRANSFER = 0
    ATTENDED_TRANSFER = 1
    HANGUP = 2
    START_RECORDING = 3


class CallControl:
    def __init__(
        self, legs: Legs, calls: LiveCalls, recordings: Recordings, tasks: CallTasks
    ) -> None:
        self.legs = legs
        self.calls = calls
        self.recordings = recordings
        self.tasks = tasks

    async def modify(
        self, account_id: str, channel: str, action: CallAction, number: str | None = None
    ) -> None:
        """Do ``action`` to the account's live ``channel``; a CallControlError says why
        it cannot be done. Transfers return once the new leg is being dialed.

        Blind transfer: ``channel`` is the transferer; it leaves and its party goes to
        ``number``. Attended transfer: ``channel`` is the customer, held while the agent
        consults ``number``; the agent hanging up completes it.
        """
        call, chan = self.calls.find(account_id, channel)
        if action is CallAction.HANGUP:
            await chan.hangup("hung up by API")
        elif action is CallAction.START_RECORDING:
            self._start_recording(call, chan)
        else:
            target = self._transfer_target(number)
            bridge = chan.bridge
            if bridge is None:
                raise NotBridged(chan.name)
            other = bridge.other(chan)
            bridge.stop(detach=True)
            if action is CallAction.BLIND_TRANSFER:
                self.tasks.spawn(self._blind_transfer(call, other, target))
                await chan.hangup("blind transfer")
            else:
                self.tasks.spawn(self._attended_transfer(call, other, chan, target))

    def _transfer_target(self, number: str | None) -> str:
        if not number:
            raise BadTransferTarget(number, "transfer_to is required for a transfer")
        try:
            self.legs.check_dialable(number)
        except SwitchError as exc:
            raise BadTransferTarget(number, str(exc)) from None
        return number

    def _start_recording(self, call: LiveCall, chan: Channel) -> None:
        if call.recorder is not None:
            if call.keep_recording:
                raise AlreadyRecording()
            call.keep_recording = True  # recording for a transcript already: keep it
            return
        bridge = chan.bridge
        if bridge is None:
            raise NotBridged(chan.name)
        call.keep_recording = True
        recorder = self.recordings.start(call, RecordingOption.BOTH)
        # the recorder takes (agent, customer); the bridge may hold them the other way
        if bridge.a is call.agent or bridge.b is call.customer:
            bridge.tap = recorder.feed
        else:
            bridge.tap = lambda a, b: recorder.feed(b, a)

    async def _blind_transfer(self, call: LiveCall, party: Channel, number: str) -> None:
        dialed = await self.legs.ring(call, party, number, follow=Follow.ALWAYS)
        target = dialed.channel
        if target is None:
            await party.hangup("transfer failed")
            return
        if not dialed.connected:
            await party.hangup("transfer failed")
            await target.hangup("caller hung up")
            return
        self.legs.bridge(call, target, party)

    async def _attended_transfer(
        self, call: LiveCall, agent: Channel, customer: Channel, number: str
    ) -> None:
        on_hold = self.legs.hold(customer)
        # the agent hears ringback while the target rings
        dialed = await self.legs.ring(call, agent, number, follow=Follow.NEVER)
        target = dialed.channel
        if target is None:
            on_hold.stop()
            self.legs.bridge(call, agent, customer)
            return
        if not dialed.up:  # the target did not answer: back to the customer
            on_hold.stop()
            if agent.state == ChannelState.UP and customer.state == ChannelState.UP:
                self.legs.bridge(call, agent, customer)
            elif agent.state == ChannelState.UP:
                await agent.hangup("customer left")
            elif customer.state == ChannelState.UP:
                await customer.hangup("agent left")
            return
        consultation = self.legs.switch.bridge(agent, target)
        # The transfer completes when the agent hangs up; if the target hangs up first
        # the agent gets the customer back.
        await asyncio.wait(
            [
                asyncio.ensure_future(asyncio.shield(agent.hungup)),
                asyncio.ensure_future(asyncio.shield(target.hungup)),
            ],
            return_when=asyncio.FIRST_COMPLETED,
        )
        consultation.stop(detach=True)
        on_hold.stop()
        if target.state != ChannelState.HUNGUP and customer.state == ChannelState.UP:
            self.legs.bridge(call, target, customer)
        elif agent.state != ChannelState.HUNGUP and customer.state == ChannelState.UP:
            self.legs.bridge(call, agent, customer)
        else:
            for channel in (agent, customer, target):
                if channel.state != ChannelState.HUNGUP:
                    await channel.hangup("transfer ended")
