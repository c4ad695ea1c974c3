"""Calls from a trunk to one of our inbound numbers (softswitch.numbers): the number's
business hours pick a destination, and one method per destination kind takes the call.

The number's account owns the call: it is listed in that account's live calls, its
CDR carries that account, and a flow's recordings go to that account's folder.

An extension is rung before the caller is answered (ringing is relayed, as for any
call); every other destination answers first and then plays ringback, runs the flow
and so on. Voicemail and conference rooms are entry points other modules provide:
until they are wired in (`voicemail`, `conference`) such calls are refused with 480.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path

from ..channel import Channel, ChannelState
from ..channel_audio import ChannelAudio
from ..destination import Destination, DestinationKind
from ..flow import FlowRunner, FlowState, RouteTo, prepare
from ..flowmodel import FlowError, parse_flow
from ..sip.errors import SipError
from ..store.cdrs import CdrStore
from ..switch import InboundCall
from .cdrs import CdrBuilder
from .flowcalls import FlowCalls
from .legs import Follow, Legs
from .live import CallKind, LiveCall, LiveCalls, new_request_id
from .ringing import RingGroups

log = logging.getLogger("softswitch.calls.inbound")

# fallbacks may chain (a group falling back to another group...); this bounds a loop
MAX_HOPS = 5


class InboundCalls:
    def __init__(
        self,
        legs: Legs,
        calls: LiveCalls,
        cdrs: CdrStore,
        builder: CdrBuilder,
        flows: FlowCalls,
        *,
        recordings_dir: Path,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.legs = legs
        self.switch = legs.switch
        self.calls = calls
        self.cdrs = cdrs
        self.builder = builder
        self.flows = flows
        self.groups = RingGroups(legs)
        self.recordings_dir = recordings_dir
        self.now = now

    async def handle(self, inbound: InboundCall) -> None:
        """Take the call to its destination; returns when it is over (CDR written)."""
        number = inbound.number
        destination = number.destination_at(self.now())
        call = LiveCall(
            number.account, new_request_id(), CallKind.INBOUND, inbound.caller_id, "", number.number
        )
        call.customer = inbound.channel
        call.add(inbound.channel)
        key = self.calls.add(call)
        pressed: list[str] = []
        try:
            log.info("number %s: %s -> %s", number.number, inbound.channel.name, destination)
            await self.dispatch(call, inbound, destination, pressed)
            if inbound.channel.state == ChannelState.UP and not call.ended.is_set():
                await call.ended.wait()
        finally:
            self.calls.remove(key)
            if inbound.channel.state != ChannelState.HUNGUP:
                await inbound.channel.hangup("normal clearing")
        channel = inbound.channel
        ended_at = call.last_hangup()
        cdr = self.builder.build(
            call,
            sip_status=200 if channel.answered_at else channel.status or 480,
            answered_at=channel.answered_at,
            ended_at=ended_at,
            direction="inbound",
            context=str(destination),
            customer_number=inbound.caller_id,
            dtmf_inputs="".join(pressed),
            recording_name="",
        )
        self.calls.events.call_completed(self.cdrs, cdr)

    async def dispatch(
        self,
        call: LiveCall,
        inbound: InboundCall,
        destination: Destination,
        pressed: list[str],
        hops: int = 0,
    ) -> None:
        """Send the call to ``destination``: the one dispatch point of every kind."""
        if hops > MAX_HOPS:
            log.warning("number %s: fallbacks loop at %s", inbound.number.number, destination)
            await self._end(inbound, 480, "fallback loop")
            return
        if inbound.channel.state == ChannelState.HUNGUP:
            return
        match destination.kind:
            case DestinationKind.EXTENSION:
                await self.extension(call, inbound, destination.target)
            case DestinationKind.RING_GROUP:
                await self.ring_group(call, inbound, destination.target, pressed, hops)
            case DestinationKind.FLOW:
                await self.flow(call, inbound, destination.target, pressed, hops)
            case DestinationKind.VOICEMAIL:
                await self.voicemail(call, inbound, destination.target)
            case DestinationKind.CONFERENCE:
                await self.conference(call, inbound, destination.target)
            case DestinationKind.NUMBER:
                await self.outside(call, inbound, destination.target)

    # -- one method per destination kind ---------------------------------------

    async def extension(self, call: LiveCall, inbound: InboundCall, number: str) -> None:
        if inbound.channel.state != ChannelState.UP:
            outbound = await self.switch.ring_extension(inbound, number)
            if outbound is not None:
                call.add(outbound)
                await call.ended.wait()
            return
        await self._connect(call, inbound.channel, number)

    async def outside(self, call: LiveCall, inbound: InboundCall, number: str) -> None:
        if not self._answer(inbound):
            return
        await self._connect(call, inbound.channel, number)

    async def ring_group(
        self, call: LiveCall, inbound: InboundCall, group_id: str, pressed: list[str], hops: int
    ) -> None:
        group = self.switch.numbers.ring_group(call.account_id, group_id)
        if group is None:  # deleted since the number was saved
            log.warning("number %s: no ring group %s", inbound.number.number, group_id)
            await self._end(inbound, 404, "no such ring group")
            return
        if not self._answer(inbound):
            return
        if await self.groups.ring(call, inbound.channel, group):
            return
        if group.fallback is not None and inbound.channel.state == ChannelState.UP:
            await self.dispatch(call, inbound, group.fallback, pressed, hops + 1)
            return
        await self._end(inbound, 480, "no answer")

    async def flow(
        self, call: LiveCall, inbound: InboundCall, ref: str, pressed: list[str], hops: int
    ) -> None:
        stored = self.switch.numbers.flow(call.account_id, ref)
        try:
            if stored is None:
                raise FlowError(f"no flow {ref}")
            flow = parse_flow(stored.steps)
            audio = self.flows.audio(call.account_id)
            variables = {"caller": inbound.caller_id, "number": inbound.number.number}
            if inbound.channel.state != ChannelState.UP:  # not when another flow routed here
                inbound.invite.progress(180)  # prompts may take a moment to synthesize
            await prepare(flow, variables, audio)
        except (FlowError, OSError, ValueError) as exc:
            log.warning("number %s: flow %s cannot run: %s", inbound.number.number, ref, exc)
            await self._end(inbound, 500, "flow cannot run")
            return
        if not self._answer(inbound):
            return
        channel = inbound.channel
        media = ChannelAudio(channel, self.switch.clock)
        media.start()
        runner = FlowRunner(
            channel,
            media,
            audio,
            FlowState(variables),
            self.flows.connector(call),
            self.recordings_dir / call.account_id,
            call.request_id,
            route=self._router(call, inbound, pressed, hops),
            now=self.now,
        )
        try:
            state = await runner.run(flow)
        finally:
            media.stop()
            pressed.extend(media.pressed)
        if not state.transferred and channel.state == ChannelState.UP:
            await channel.hangup("flow ended")

    def _router(
        self, call: LiveCall, inbound: InboundCall, pressed: list[str], hops: int
    ) -> RouteTo:
        """A flow's route step (or menu option): the destination takes the call over."""

        async def route(channel: Channel, destination: Destination, timeout: float) -> None:
            if destination.kind in (DestinationKind.EXTENSION, DestinationKind.NUMBER):
                await self._connect(call, channel, destination.target, timeout)
            else:
                await self.dispatch(call, inbound, destination, pressed, hops + 1)

        return route

    async def voicemail(self, call: LiveCall, inbound: InboundCall, box: str) -> None:
        """Into the voicemail box of extension ``box``: greeting, beep, message; the
        caller is hung up when the message is kept."""
        voicemail = self.switch.voicemail
        if voicemail is None or not voicemail.has_box(box):  # switched off since it was saved
            log.warning("number %s: extension %s has no voicemail", inbound.number.number, box)
            await self._end(inbound, 480, "no voicemail box")
            return
        if not self._answer(inbound):
            return
        await self.switch.to_voicemail(inbound.channel, box)

    async def conference(self, call: LiveCall, inbound: InboundCall, room: str) -> None:
        """Into conference room ``room`` (its PIN asked, as for a caller who dialed it);
        the call lasts as long as the caller stays in the room."""
        if self.switch.conferences.settings(room) is None:  # deleted since it was saved
            log.warning("number %s: no conference room %s", inbound.number.number, room)
            await self._end(inbound, 404, "no such conference room")
            return
        if not self._answer(inbound):
            return
        if await self.switch.join_conference(inbound.channel, room) is not None:
            await inbound.channel.hungup

    # -- helpers --------------------------------------------------------------

    def _answer(self, inbound: InboundCall) -> bool:
        try:
            inbound.accept()
        except SipError:
            inbound.channel.failed("caller gone", 487)
            return False
        return True

    async def _end(self, inbound: InboundCall, status: int, cause: str) -> None:
        """Refuse a call not answered yet with ``status``; hang up an answered one."""
        if inbound.channel.state == ChannelState.UP:
            await inbound.channel.hangup(cause)
        else:
            inbound.refuse(status, cause)

    async def _connect(
        self, call: LiveCall, channel: Channel, number: str, timeout: float | None = None
    ) -> None:
        dialed = await self.legs.ring(call, channel, number, follow=Follow.ALWAYS, timeout=timeout)
        if dialed.channel is None or not dialed.connected:
            await channel.hangup("no answer")
            return
        self.legs.bridge(call, channel, dialed.channel)
        await dialed.channel.hungup
