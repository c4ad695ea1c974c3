"""click2call: ring the agent; once they answer, dial the destination and bridge both.

The agent hears ringback while the destination rings. The CDR is written when the last
leg has hung up; a transcript, when asked for, is added to it afterwards.
"""

from __future__ import annotations

import logging

from media.recorder import RecordingOption

from ..channel import ChannelState
from ..store.cdrs import CdrStore
from ..switch import SwitchError
from .cdrs import CdrBuilder
from .legs import Follow, Legs
from .live import CallKind, LiveCall, LiveCalls, new_request_id
from .recording import Recordings, recording_name, remove
from .tasks import CallTasks

log = logging.getLogger("softswitch.calls")


class Click2Call:
    def __init__(
        self,
        legs: Legs,
        calls: LiveCalls,
        cdrs: CdrStore,
        builder: CdrBuilder,
        recordings: Recordings,
        tasks: CallTasks,
    ) -> None:
        self.legs = legs
        self.calls = calls
        self.cdrs = cdrs
        self.builder = builder
        self.recordings = recordings
        self.tasks = tasks

    async def place(
        self,
        *,
        account_id: str,
        agent_number: str,
        destination_number: str,
        caller_id: str,
        recording_option: str = RecordingOption.OFF,
        transcript: bool = False,
        request_id: str | None = None,
    ) -> str:
        """Start the call and return its request id at once.

        ValueError for an unknown recording option, SwitchError(404) when a number has
        no route: nothing is dialed then.
        """
        option = RecordingOption.parse(recording_option)
        self.legs.check_dialable(agent_number)
        self.legs.check_dialable(destination_number)
        call = LiveCall(
            account_id,
            request_id or new_request_id(),
            CallKind.C2C,
            caller_id,
            agent_number,
            destination_number,
        )
        key = self.calls.add(call)
        call.keep_recording = option is not RecordingOption.OFF
        self.tasks.spawn(self._run(call, key, option, transcript))
        return call.request_id

    async def _run(
        self, call: LiveCall, key: str, option: RecordingOption, transcript: bool
    ) -> None:
        status, answered_at = 0, None
        try:
            status, answered_at = await self._connect(call, option, transcript)
            await call.ended.wait()
        finally:
            self.calls.remove(key)
        files = call.recorder.close() if call.recorder is not None else None
        cdr = self.builder.build(
            call,
            sip_status=status,
            answered_at=answered_at,
            ended_at=call.last_hangup(),
            direction="outbound-api",
            context="click2call",
            customer_number=call.customer_number,
            dtmf_inputs=call.dtmf_inputs(),
            recording_name=recording_name(files) if call.keep_recording else "",
        )
        cdr_id = self.calls.events.call_completed(self.cdrs, cdr)
        log.info(
            "click2call %s ended: %s billsec=%s", call.request_id, cdr.dial_status, cdr.billsec
        )
        if transcript and files is not None and answered_at is not None:
            self.tasks.spawn(self.recordings.transcribe(cdr_id, files, keep=call.keep_recording))
        elif files is not None and not call.keep_recording:
            remove(files)

    async def _connect(
        self, call: LiveCall, option: RecordingOption, transcript: bool
    ) -> tuple[int, float | None]:
        """Returns (status of the failing leg or 200, destination answer time)."""
        try:
            agent = await self.legs.switch.originate(call.agent_number, caller_id=call.caller_id)
        except SwitchError as exc:
            call.ended.set()
            return exc.status, None
        call.agent = agent
        call.add(agent)
        if await agent.wait(ChannelState.UP) is None:
            return agent.status or 480, None
        dialed = await self.legs.ring(
            call, agent, call.customer_number, follow=Follow.WHILE_RINGING, cause="agent hung up"
        )
        customer = dialed.channel
        if customer is None:
            await agent.hangup("destination unreachable")
            return dialed.status, None
        call.customer = customer
        if not dialed.connected:
            await agent.hangup("destination did not answer")
            await customer.hangup("agent hung up")
            if not dialed.up:
                return customer.status or 480, None
            return 487, None  # the agent left while the destination rang
        if option is not RecordingOption.OFF or transcript:
            # a recording made only for the transcript holds both legs
            self.recordings.start(
                call, option if option is not RecordingOption.OFF else RecordingOption.BOTH
            )
        self.legs.bridge(call, agent, customer)
        return 200, customer.answered_at
