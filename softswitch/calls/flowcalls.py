"""Flow calls (OTP announcements, campaign calls): dial one number, run a flow when it
answers, write the CDR, and return the outcome."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from media.amd import AmdResult, AmdSettings
from media.recognizer import Recognizer
from media.tts import Tts

from ..answering import AmdMode, detect
from ..channel import Channel, ChannelState
from ..channel_audio import ChannelAudio
from ..flow import Connect, FlowAudio, FlowRunner, FlowState, prepare
from ..flowmodel import Flow
from ..outcome import CallOutcome
from ..store.cdrs import CdrStore
from ..switch import SwitchError
from .cdrs import CdrBuilder
from .legs import Follow, Legs
from .live import CallKind, LiveCall, LiveCalls, new_request_id


class FlowCalls:
    def __init__(
        self,
        legs: Legs,
        calls: LiveCalls,
        cdrs: CdrStore,
        builder: CdrBuilder,
        tts: Tts,
        *,
        uploads_dir: Path,
        recordings_dir: Path,
        amd_settings: AmdSettings | None = None,
        recognizer: Recognizer | None = None,
    ) -> None:
        """``amd_settings``: the answering-machine detector's thresholds (app_amd's
        defaults when None), for calls that ask for detection."""
        self.amd_settings = amd_settings
        self.legs = legs
        self.calls = calls
        self.cdrs = cdrs
        self.builder = builder
        self.tts = tts
        self.uploads_dir = uploads_dir
        self.recordings_dir = recordings_dir
        self.recognizer = recognizer

    def audio(self, account_id: str) -> FlowAudio:
        """Where the account's prompts come from: speech and its uploaded files."""
        return FlowAudio(self.tts, self.uploads_dir / account_id, recognizer=self.recognizer)

    async def dial(
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
        amd: AmdMode = AmdMode.OFF,
    ) -> CallOutcome:
        """Dial ``number``, run ``flow`` when answered, write the CDR, return when it ended.

        Prompts are prepared before dialing; a TtsError (missing variable, bad voice)
        or a missing file raises here, before anyone's phone rings. ``amd``: who
        answered is found out first (softswitch.answering); the CDR and the outcome
        say it in ``answered_by``.
        """
        audio = audio or self.audio(account_id)
        await prepare(flow, variables, audio)
        kind = CallKind.CAMPAIGN if direction == "outbound-campaign" else CallKind.OTP
        call = LiveCall(account_id, request_id or new_request_id(), kind, caller_id, "", number)
        key = self.calls.add(call)
        state = FlowState(dict(variables))
        status, answered_at = 0, None
        pressed: list[str] = []
        amd_result: AmdResult | None = None
        try:
            try:
                channel = await self.legs.switch.originate(
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
                    pressed, amd_result = await self._run(call, channel, flow, audio, state, amd)
                    await call.ended.wait()
        finally:
            self.calls.remove(key)
        ended_at = call.last_hangup()
        cdr = self.builder.build(
            call,
            sip_status=status,
            answered_at=answered_at,
            ended_at=ended_at,
            direction=direction,
            context=context,
            # a campaign's CDR names the contact in dialed_number only
            customer_number=number if kind is CallKind.OTP else "",
            dtmf_inputs="".join(pressed),
            recording_name=state.recordings[0] if state.recordings else "",
            campaign_id=campaign_id,
            list_id=list_id,
            answered_by=amd_result.answered_by.value if amd_result is not None else "",
        )
        if state.speech_inputs:
            cdr.speech_inputs = json.dumps([asdict(s) for s in state.speech_inputs])
        cdr_id = self.calls.events.call_completed(self.cdrs, cdr)
        return CallOutcome(
            answered=answered_at is not None,
            sip_status=status,
            dial_status=cdr.dial_status,
            started_at=call.started_at,
            ended_at=ended_at,
            answered_at=answered_at,
            result=state.result,
            report_data=state.report_data,
            redial=state.redial,
            cdr_id=cdr_id,
            answered_by=cdr.answered_by,
            amd=amd_result,
            asr_seconds=round(state.asr_seconds, 2),
        )

    async def _run(
        self,
        call: LiveCall,
        channel: Channel,
        flow: Flow,
        audio: FlowAudio,
        state: FlowState,
        amd: AmdMode,
    ) -> tuple[list[str], AmdResult | None]:
        """Run the flow on the answered ``channel``, then hang it up; returns the digits
        the caller pressed and who answered (None without detection). On a machine,
        ``amd`` DETECT hangs up without the flow; LEAVE_MESSAGE has waited for the end of
        its greeting."""
        media = ChannelAudio(channel, self.legs.switch.clock)
        media.start()
        result = None
        if amd is not AmdMode.OFF:
            try:
                result = await detect(channel, media, amd, self.amd_settings)
            except BaseException:
                media.stop()
                await channel.hangup("flow ended")
                raise
            if amd is AmdMode.DETECT and result.answered_by.machine:
                media.stop()
                await channel.hangup("answering machine")
                return media.pressed, result
        runner = FlowRunner(
            channel,
            media,
            audio,
            state,
            self.connector(call),
            self.recordings_dir / call.account_id,
            call.request_id,
        )
        try:
            await runner.run(flow)
        finally:
            media.stop()
            await channel.hangup("flow ended")
        return media.pressed, result

    def connector(self, call: LiveCall) -> Connect:
        """A flow's connect/transfer step: bridge the caller to ``number`` until that
        party hangs up (True), or return False when it does not answer."""

        async def connect(channel: Channel, number: str, timeout: float) -> bool:
            dialed = await self.legs.ring(
                call, channel, number, follow=Follow.ALWAYS, timeout=timeout
            )
            other = dialed.channel
            if other is None or not dialed.connected:
                return False
            bridge = self.legs.switch.bridge(channel, other, tap=call.tap)
            await other.hungup
            bridge.stop()
            return True

        return connect
