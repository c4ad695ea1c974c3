"""Calls the APIs and the dialer place: click2call, flow calls (OTP, campaigns), live control.

Each call is a `LiveCall`: the channels it has had (transfers add some), the recorder,
and what the CDR needs. The CDR row is written when the last channel of the call has
hung up; a transcript, when asked for, is added afterwards, off the media path.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path

from media.asr import transcriber
from media.player import Player
from media.prompt import load_audio
from media.recorder import CallRecorder, RecordingFiles
from media.tones import ringback
from media.tts import Tts

from .bridge import Bridge
from .channel import Channel, ChannelEvent, ChannelState
from .channel_audio import ChannelAudio
from .flow import FlowAudio, FlowRunner, FlowState, prepare
from .flowmodel import Flow
from .routing import normalize
from .store.cdrs import Cdr, CdrStore
from .switch import Switch, SwitchError

log = logging.getLogger("softswitch.calls")

RECORDING_OPTIONS = ("both", "agent", "customer", "off")
KINDS = ("c2c", "otp", "campaign", "inbound")


class CallControlError(Exception):
    """A live-call operation that cannot be done; ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def new_request_id() -> str:
    return secrets.token_hex(5)


def dial_status(status: int, cancelled: bool = False) -> str:
    """Asterisk's DIALSTATUS for the SIP final response of a leg."""
    if cancelled:
        return "CANCEL"
    if 200 <= status < 300:
        return "ANSWER"
    if status in (486, 600, 603):
        return "BUSY"
    if status in (408, 487):
        return "NOANSWER"
    if status in (404, 410, 480, 484, 604):
        return "CHANUNAVAIL"
    return "CONGESTION"


CALL_STATUS = {
    "ANSWER": "ANSWERED",
    "BUSY": "BUSY",
    "NOANSWER": "NO ANSWER",
    "CANCEL": "NO ANSWER",
    "CHANUNAVAIL": "FAILED",
    "CONGESTION": "FAILED",
    "DND": None,
}


def _remove(files: RecordingFiles) -> None:
    for path in (files.mixed, files.agent, files.customer):
        if path is not None:
            path.unlink(missing_ok=True)


def http_date(ts: float) -> str:
    return formatdate(ts, usegmt=True)


@dataclass(slots=True)
class CallOutcome:
    answered: bool
    sip_status: int
    dial_status: str
    result: str | None
    report_data: list[tuple[str, str, int]]
    started_at: float
    answered_at: float | None
    ended_at: float
    redial: tuple[int, int | None] | None = None
    cdr_id: int | None = None


@dataclass(eq=False)
class LiveCall:
    account_id: str
    request_id: str
    kind: str  # c2c | otp | campaign | inbound
    caller_id: str
    agent_number: str
    customer_number: str
    started_at: float = field(default_factory=time.time)
    channels: list[Channel] = field(default_factory=list)
    agent: Channel | None = None
    customer: Channel | None = None
    recorder: CallRecorder | None = None
    keep_recording: bool = False  # asked for (recording_option or modify_call), not only
    # made for a transcript
    recording: RecordingFiles | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, channel: Channel) -> None:
        self.channels.append(channel)
        channel.add_listener(self._on_event)

    def _on_event(self, event: ChannelEvent) -> None:
        if event.state == ChannelState.HUNGUP and all(
            c.state == ChannelState.HUNGUP for c in self.channels
        ):
            self.ended.set()

    def live_channels(self) -> list[Channel]:
        return [c for c in self.channels if c.state != ChannelState.HUNGUP]


class CallService:
    def __init__(
        self,
        switch: Switch,
        tts: Tts,
        cdrs: CdrStore,
        *,
        recordings_dir: Path | str,
        uploads_dir: Path | str,
        transcriber_name: str = "pocketsphinx",
        stereo: bool = False,
    ) -> None:
        self.switch = switch
        self.tts = tts
        self.cdrs = cdrs
        self.recordings_dir = Path(recordings_dir)
        self.uploads_dir = Path(uploads_dir)
        self.transcriber_name = transcriber_name
        self.stereo = stereo
        self.calls: dict[str, LiveCall] = {}
        self._tasks: set[asyncio.Task] = set()
        self._unique = itertools.count(1)
        self._ringback = ringback()

    # -- helpers ------------------------------------------------------------

    def spawn(self, coro) -> asyncio.Task:
        """Run a call task owned by the service: stop() lets it finish its CDR."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("call task failed", exc_info=task.exception())

    async def stop(self, grace: float = 2.0) -> None:
        """Let calls that are ending write their CDRs, then cancel what is left."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def check_dialable(self, number: str) -> None:
        """SwitchError(404) when no route leads to ``number``."""
        if self.switch.router.route(normalize(number)) is None:
            raise SwitchError(f"no route to {number!r}", 404)

    def _uniqueid(self, started: float) -> str:
        return f"{int(started)}.{next(self._unique)}"

    def _link(self, bridge: Bridge) -> None:
        """Hang up one party when the other leaves, unless the bridge was taken apart."""

        def on_event(event: ChannelEvent) -> None:
            if event.state != ChannelState.HUNGUP or bridge.detached:
                return
            bridge.stop()
            other = bridge.other(event.channel)
            self.spawn(other.hangup(event.cause or "normal clearing"))

        bridge.a.add_listener(on_event)
        bridge.b.add_listener(on_event)

    def _bridge(self, call: LiveCall, agent: Channel, customer: Channel) -> Bridge:
        bridge = Bridge(agent, customer, self.switch.clock)
        if call.recorder is not None:
            bridge.tap = call.recorder.feed
        bridge.start()
        self._link(bridge)
        return bridge

    def _holding(self, channel: Channel) -> ChannelAudio:
        audio = ChannelAudio(channel, self.switch.clock)
        audio.start()
        audio.background(Player(self._ringback, repeat=None))
        return audio

    # -- click2call ---------------------------------------------------------

    async def click2call(
        self,
        *,
        account_id: str,
        agent_number: str,
        destination_number: str,
        caller_id: str,
        recording_option: str = "off",
        transcript: bool = False,
        request_id: str | None = None,
    ) -> str:
        """Ring the agent; when they answer, dial the destination and bridge both."""
        if recording_option not in RECORDING_OPTIONS:
            raise ValueError(f"recording_option must be one of {', '.join(RECORDING_OPTIONS)}")
        self.check_dialable(agent_number)
        self.check_dialable(destination_number)
        request_id = request_id or new_request_id()
        call = LiveCall(account_id, request_id, "c2c", caller_id, agent_number, destination_number)
        self.calls[request_id] = call
        call.keep_recording = recording_option != "off"
        self.spawn(self._click2call(call, recording_option, transcript))
        return request_id

    async def _click2call(self, call: LiveCall, option: str, transcript: bool) -> None:
        status, answered_at = 0, None
        try:
            status, answered_at = await self._run_click2call(call, option, transcript)
            await call.ended.wait()
        finally:
            self.calls.pop(call.request_id, None)
        files = call.recorder.close() if call.recorder is not None else None
        ended = max([c.ended_at or time.time() for c in call.channels] or [time.time()])
        answered = answered_at is not None
        ds = "ANSWER" if answered else dial_status(status)
        cdr = Cdr(
            account_id=call.account_id,
            request_id=call.request_id,
            call_direction="outbound-api",
            destination_context="click2call",
            caller_id=call.caller_id,
            agent_number=call.agent_number,
            customer_number=call.customer_number,
            dialed_number=call.customer_number,
            call_date=call.started_at,
            answer=answered_at,
            end=ended,
            call_duration=round(ended - call.started_at, 4),
            billsec=round(ended - answered_at, 4) if answered_at else 0.0,
            call_status=CALL_STATUS[ds],
            dial_status=ds,
            dtmf_inputs="".join(d for c in call.channels for d in c.dtmf_inputs),
            recording_name=self._recording_name(files) if call.keep_recording else "",
            uniqueid=self._uniqueid(call.started_at),
        )
        cdr_id = self.cdrs.insert(cdr)
        log.info("click2call %s ended: %s billsec=%s", call.request_id, ds, cdr.billsec)
        if transcript and files is not None and answered:
            self.spawn(self._transcribe(cdr_id, files, keep=call.keep_recording))
        elif files is not None and not call.keep_recording:
            _remove(files)

    def _recording_name(self, files: RecordingFiles | None) -> str:
        if files is None:
            return ""
        path = files.mixed or files.agent or files.customer
        return path.name if path is not None else ""

    async def _run_click2call(
        self, call: LiveCall, option: str, transcript: bool
    ) -> tuple[int, float | None]:
        """Returns (status of the failing leg or 200, destination answer time)."""
        switch = self.switch
        try:
            agent = await switch.originate(call.agent_number, caller_id=call.caller_id)
        except SwitchError as exc:
            call.ended.set()
            return exc.status, None
        call.agent = agent
        call.add(agent)
        if await agent.wait(ChannelState.UP) is None:
            return agent.status or 480, None
        holding = self._holding(agent)  # the agent hears ringback meanwhile
        try:
            customer = await switch.originate(call.customer_number, caller_id=call.caller_id)
        except SwitchError as exc:
            holding.stop()
            await agent.hangup("destination unreachable")
            return exc.status, None
        call.customer = customer
        call.add(customer)

        def agent_left(event: ChannelEvent) -> None:
            if event.state == ChannelState.HUNGUP and customer.state in (
                ChannelState.DOWN,
                ChannelState.RINGING,
                ChannelState.EARLY,
            ):
                self.spawn(customer.hangup("agent hung up"))

        agent.add_listener(agent_left)
        up = await customer.wait(ChannelState.UP)
        holding.stop()
        if up is None or agent.state != ChannelState.UP:
            await agent.hangup("destination did not answer")
            await customer.hangup("agent hung up")
            if up is None:
                return customer.status or 480, None
            return 487, None
        if option != "off" or transcript:
            directory = self.recordings_dir / call.account_id
            call.recorder = CallRecorder(
                directory,
                call.request_id,
                option if option != "off" else "both",
                stereo=self.stereo,
            )
        self._bridge(call, agent, customer)
        return 200, customer.answered_at

    async def _transcribe(self, cdr_id: int, files: RecordingFiles, keep: bool) -> None:
        try:
            await self._transcribe_files(cdr_id, files)
        finally:
            if not keep:  # recorded only to be transcribed: nobody asked to keep the audio
                _remove(files)

    async def _transcribe_files(self, cdr_id: int, files: RecordingFiles) -> None:
        engine = transcriber(self.transcriber_name)
        loop = asyncio.get_running_loop()
        parts: list[str] = []
        legs = [("agent", files.agent), ("customer", files.customer)]
        if not any(path for _, path in legs):
            legs = [("call", files.mixed)]
        for label, path in legs:
            if path is None or not path.exists():
                continue
            samples = await loop.run_in_executor(None, load_audio, path)
            text = await loop.run_in_executor(None, engine.transcribe, samples)
            if text:
                parts.append(f"{label}: {text}")
        self.cdrs.set_transcript(cdr_id, "\n".join(parts))

    # -- flow calls (OTP, campaigns) -----------------------------------------

    def flow_audio(self, account_id: str) -> FlowAudio:
        return FlowAudio(self.tts, self.uploads_dir / account_id)

    async def dial_flow(
        self,
        *,
        account_id: str,
        number: str,
        caller_id: str,
        flow: Flow,
        variables: dict[str, str],
        request_id: str,
        context: str,
        direction: str,
        campaign_id: str = "",
        list_id: str = "",
        ring_timeout: float | None = None,
        audio: FlowAudio | None = None,
    ) -> CallOutcome:
        """Dial ``number``, run ``flow`` when answered, write the CDR, return when it ended.

        Prompts are prepared before dialing; a TtsError (missing variable, bad voice)
        or a missing file raises here, before anyone's phone rings.
        """
        audio = audio or self.flow_audio(account_id)
        await prepare(flow, variables, audio)
        kind = "campaign" if direction == "outbound-campaign" else "otp"
        call = LiveCall(account_id, request_id or new_request_id(), kind, caller_id, "", number)
        key = (
            call.request_id
            if call.request_id not in self.calls
            else f"{call.request_id}:{secrets.token_hex(3)}"
        )
        self.calls[key] = call
        state = FlowState(dict(variables))
        status, answered_at = 0, None
        pressed: list[str] = []
        try:
            try:
                channel = await self.switch.originate(
                    number, caller_id=caller_id, timeout=ring_timeout
                )
            except SwitchError as exc:
                status = exc.status
            else:
                call.customer = channel
                call.add(channel)
                if await channel.wait(ChannelState.UP) is None:
                    status = channel.status or 480
                else:
                    status, answered_at = 200, channel.answered_at
                    media = ChannelAudio(channel, self.switch.clock)
                    media.start()
                    runner = FlowRunner(
                        channel,
                        media,
                        audio,
                        state,
                        self._connector(call),
                        self.recordings_dir / account_id,
                        call.request_id,
                    )
                    try:
                        await runner.run(flow)
                    finally:
                        media.stop()
                        pressed = media.pressed
                        await channel.hangup("flow ended")
                    await call.ended.wait()
        finally:
            self.calls.pop(key, None)
        ended = max([c.ended_at or time.time() for c in call.channels] or [time.time()])
        ds = "ANSWER" if answered_at else dial_status(status)
        cdr = Cdr(
            account_id=account_id,
            request_id=call.request_id if kind == "otp" else request_id,
            call_direction=direction,
            destination_context=context,
            caller_id=caller_id,
            agent_number="",
            customer_number=number if kind == "otp" else "",
            dialed_number=number,
            call_date=call.started_at,
            answer=answered_at,
            end=ended,
            call_duration=round(ended - call.started_at, 4),
            billsec=round(ended - answered_at, 4) if answered_at else 0.0,
            call_status=CALL_STATUS[ds],
            dial_status=ds,
            dtmf_inputs="".join(pressed),
            recording_name=state.recordings[0] if state.recordings else "",
            uniqueid=self._uniqueid(call.started_at),
            campaign_id=campaign_id,
            list_id=list_id,
        )
        cdr_id = self.cdrs.insert(cdr)
        return CallOutcome(
            answered=answered_at is not None,
            sip_status=status,
            dial_status=ds,
            result=state.result,
            report_data=state.report_data,
            started_at=call.started_at,
            answered_at=answered_at,
            ended_at=ended,
            redial=state.redial,
            cdr_id=cdr_id,
        )

    def _connector(self, call: LiveCall):
        async def connect(channel: Channel, number: str, timeout: float) -> bool:
            try:
                other = await self.switch.originate(
                    number, caller_id=call.caller_id or None, timeout=timeout
                )
            except SwitchError:
                return False
            call.add(other)
            holding = self._holding(channel)

            def caller_left(event: ChannelEvent) -> None:
                if event.state == ChannelState.HUNGUP and other.state != ChannelState.HUNGUP:
                    self.spawn(other.hangup("caller hung up"))

            channel.add_listener(caller_left)
            up = await other.wait(ChannelState.UP)
            holding.stop()
            if up is None or channel.state != ChannelState.UP:
                return False
            bridge = Bridge(channel, other, self.switch.clock)
            if call.recorder is not None:
                bridge.tap = call.recorder.feed
            bridge.start()
            await other.hungup
            bridge.stop()
            return True

        return connect

    # -- live calls ---------------------------------------------------------

    def _find(self, account_id: str, name: str) -> tuple[LiveCall, Channel]:
        name = name.strip()
        for call in self.calls.values():
            if call.account_id != account_id:
                continue
            for channel in call.live_channels():
                if channel.name == name:
                    return call, channel
        raise CallControlError(f"channel {name!r} not found", 404)

    async def modify_call(
        self, account_id: str, channel: str, action: int, number: str | None
    ) -> str:
        """0 blind transfer, 1 attended transfer, 2 hangup, 3 start recording."""
        call, chan = self._find(account_id, channel)
        if action == 2:
            await chan.hangup("hung up by API")
            return "call hangup successfully"
        if action == 3:
            if call.recorder is not None:
                if call.keep_recording:
                    raise CallControlError("call is already being recorded")
                call.keep_recording = True  # recording for a transcript already: keep it
                return "call recording started successfully"
            bridge = chan.bridge
            if bridge is None:
                raise CallControlError(f"channel {chan.name} is not bridged")
            call.keep_recording = True
            call.recorder = CallRecorder(
                self.recordings_dir / account_id, call.request_id, "both", stereo=self.stereo
            )
            agent_first = bridge.a is call.agent or bridge.b is call.customer
            if agent_first:
                bridge.tap = call.recorder.feed
            else:
                recorder = call.recorder
                bridge.tap = lambda a, b: recorder.feed(b, a)
            return "call recording started successfully"
        if action not in (0, 1):
            raise CallControlError("modify_type must be 0, 1, 2 or 3")
        if not number:
            raise CallControlError("transfer_to is required for a transfer")
        try:
            self.check_dialable(number)
        except SwitchError as exc:
            raise CallControlError(str(exc)) from None
        bridge = chan.bridge
        if bridge is None:
            raise CallControlError(f"channel {chan.name} is not bridged")
        if action == 0:
            # the given channel is the transferer: it leaves, its party goes to `number`
            party = bridge.other(chan)
            bridge.stop(detach=True)
            self.spawn(self._blind_transfer(call, party, number))
            await chan.hangup("blind transfer")
            return "blind transferred successfully"
        # attended: the given channel is the customer, held while the agent consults
        customer = chan
        agent = bridge.other(customer)
        bridge.stop(detach=True)
        self.spawn(self._attended_transfer(call, agent, customer, number))
        return "attended transfer initiated successfully"

    async def _blind_transfer(self, call: LiveCall, party: Channel, number: str) -> None:
        holding = self._holding(party)
        try:
            target = await self.switch.originate(number, caller_id=call.caller_id or None)
        except SwitchError:
            holding.stop()
            await party.hangup("transfer failed")
            return
        call.add(target)

        def party_left(event: ChannelEvent) -> None:
            if event.state == ChannelState.HUNGUP and target.state != ChannelState.HUNGUP:
                self.spawn(target.hangup("caller hung up"))

        party.add_listener(party_left)
        up = await target.wait(ChannelState.UP)
        holding.stop()
        if up is None or party.state != ChannelState.UP:
            await party.hangup("transfer failed")
            await target.hangup("caller hung up")
            return
        self._bridge(call, target, party)

    async def _attended_transfer(
        self, call: LiveCall, agent: Channel, customer: Channel, number: str
    ) -> None:
        on_hold = self._holding(customer)
        try:
            target = await self.switch.originate(number, caller_id=call.caller_id or None)
        except SwitchError:
            on_hold.stop()
            self._bridge(call, agent, customer)
            return
        call.add(target)
        consulting = self._holding(agent)
        up = await target.wait(ChannelState.UP)
        consulting.stop()
        if up is None:  # the target did not answer: back to the customer
            on_hold.stop()
            if agent.state == ChannelState.UP and customer.state == ChannelState.UP:
                self._bridge(call, agent, customer)
            elif agent.state == ChannelState.UP:
                await agent.hangup("customer left")
            elif customer.state == ChannelState.UP:
                await customer.hangup("agent left")
            return
        consultation = Bridge(agent, target, self.switch.clock)
        consultation.start()
        # The transfer completes when the agent hangs up; if the target hangs up first
        # the agent gets the customer back.
        done, _ = await asyncio.wait(
            [
                asyncio.ensure_future(asyncio.shield(agent.hungup)),
                asyncio.ensure_future(asyncio.shield(target.hungup)),
            ],
            return_when=asyncio.FIRST_COMPLETED,
        )
        consultation.stop(detach=True)
        on_hold.stop()
        if target.state != ChannelState.HUNGUP and customer.state == ChannelState.UP:
            self._bridge(call, target, customer)
        elif agent.state != ChannelState.HUNGUP and customer.state == ChannelState.UP:
            self._bridge(call, agent, customer)
        else:
            for channel in (agent, customer, target):
                if channel.state != ChannelState.HUNGUP:
                    await channel.hangup("transfer ended")

    def live_calls(self, account_id: str) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = []
        for call in self.calls.values():
            if call.account_id != account_id:
                continue
            for channel in call.live_channels():
                rows.append(
                    {
                        "channel": channel.name,
                        "request_id": call.request_id,
                        "call_type": call.kind,
                        "state": channel.state,
                        "number": channel.endpoint.number,
                        "agent_number": call.agent_number,
                        "customer_number": call.customer_number,
                        "caller_id": call.caller_id,
                        "bridged_channel": channel.bridged.name if channel.bridged else "",
                        "start_time": http_date(channel.created_at),
                    }
                )
        for channel in self._inbound_channels(account_id):
            rows.append(
                {
                    "channel": channel.name,
                    "request_id": "",
                    "call_type": "inbound",
                    "state": channel.state,
                    "number": channel.endpoint.number,
                    "agent_number": channel.bridged.endpoint.number if channel.bridged else "",
                    "customer_number": channel.endpoint.number,
                    "caller_id": channel.endpoint.number,
                    "bridged_channel": channel.bridged.name if channel.bridged else "",
                    "start_time": http_date(channel.created_at),
                }
            )
        return rows

    def _inbound_channels(self, account_id: str) -> list[Channel]:
        trunks = {t.name for t in self.switch.config.trunks if t.account == account_id}
        return [
            c
            for c in self.switch.channels
            if c.direction == "inbound" and c.endpoint.kind == "trunk" and c.endpoint.name in trunks
        ]

    def live_statistics(self, account_id: str) -> dict[str, int]:
        counts = {kind: 0 for kind in KINDS}
        for call in self.calls.values():
            if call.account_id == account_id and not call.ended.is_set():
                counts[call.kind] += 1
        counts["inbound"] += len(self._inbound_channels(account_id))
        return {
            "live_calls_c2c": counts["c2c"],
            "live_calls_campaign": counts["campaign"],
            "live_calls_inbound": counts["inbound"],
            "live_calls_otp": counts["otp"],
        }
