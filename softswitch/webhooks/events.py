"""The events an account's status_callback receives, and the hooks that record them.

`WebhookEvents` is what the call service, the dialer and voicemail call where a fact is
already known; each hook writes the event into the outbox (store/webhooks.py) at once,
in the caller's transaction where the fact itself is written (a CDR), and wakes the
delivery worker. An account without a status_callback URL records nothing.

Every event body is::

    {"id": "evt_...", "type": "call.answered", "created_at": "2026-12-06T07:20:01.123Z",
     "account_id": "...", "request_id": "...", "data": {...}}

``id`` is unique (a receiver de-duplicates on it: delivery is at least once);
``request_id`` is the call's (as the APIs return it), "" for events of no call.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ..channel import ChannelEvent, ChannelState, Listener
from ..store.database import transaction
from ..store.webhooks import WebhookStore

if TYPE_CHECKING:
    from ..calls.live import LiveCall
    from ..store.cdrs import Cdr, CdrStore
    from ..store.voicemail import MessageRecord

log = logging.getLogger("softswitch.webhooks")


class EventType(StrEnum):
    CALL_INITIATED = "call.initiated"
    CALL_RINGING = "call.ringing"  # per leg of the call
    CALL_ANSWERED = "call.answered"  # per leg of the call
    CALL_COMPLETED = "call.completed"  # with the CDR row
    RECORDING_READY = "recording.ready"
    TRANSCRIPT_READY = "transcript.ready"
    VOICEMAIL_LEFT = "voicemail.left"
    CAMPAIGN_JOB_STATUS = "campaign.job_status_changed"
    CAMPAIGN_FINISHED = "campaign.finished"


_RINGING = (ChannelState.RINGING, ChannelState.EARLY)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(12)


class WebhookEvents:
    def __init__(self, store: WebhookStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        # the delivery worker's wake-up: an event waits no poll interval
        self.recorded: Callable[[str], None] = lambda account_id: None

    def emit(
        self, account_id: str, type_: EventType, request_id: str, data: dict[str, Any]
    ) -> str | None:
        """Write one event to the outbox; its id, or None when the account has no URL."""
        if not account_id or not self.store.url(account_id):
            return None
        event_id = new_event_id()
        now = self.clock()
        body = json.dumps(
            {
                "id": event_id,
                "type": type_.value,
                "created_at": iso(now),
                "account_id": account_id,
                "request_id": request_id,
                "data": data,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )
        self.store.add(event_id, account_id, type_, request_id, now, body)
        self.recorded(account_id)
        return event_id

    # -- calls ----------------------------------------------------------------

    def call_initiated(self, call: LiveCall) -> None:
        """``call`` was registered as live (LiveCalls.add): its legs are followed from now."""
        self.emit(
            call.account_id,
            EventType.CALL_INITIATED,
            call.request_id,
            {
                "call_type": call.kind.value,
                "caller_id": call.caller_id,
                "agent_number": call.agent_number,
                "customer_number": call.customer_number,
            },
        )

    def leg_listener(self, call: LiveCall) -> Listener:
        """A channel listener telling ringing and answered of each leg of ``call``."""
        rung: set[str] = set()

        def on_event(event: ChannelEvent) -> None:
            channel = event.channel
            if event.state in _RINGING:
                if channel.name in rung:
                    return  # 180 then 183: one ringing
                rung.add(channel.name)
                type_ = EventType.CALL_RINGING
            elif event.state == ChannelState.UP:
                type_ = EventType.CALL_ANSWERED
            else:
                return
            self.emit(
                call.account_id,
                type_,
                call.request_id,
                {
                    "call_type": call.kind.value,
                    "channel": channel.name,
                    "number": channel.endpoint.number,
                    "direction": str(channel.direction),
                },
            )

        return on_event

    def call_completed(self, cdrs: CdrStore, cdr: Cdr) -> int:
        """Write the CDR of a finished call and its events in one transaction: its id."""
        with transaction(cdrs.db):
            cdr_id = cdrs.insert(cdr)
            row = asdict(cdr)
            self.emit(cdr.account_id, EventType.CALL_COMPLETED, cdr.request_id, {"cdr": row})
            if cdr.recording_name:
                self.emit(
                    cdr.account_id,
                    EventType.RECORDING_READY,
                    cdr.request_id,
                    {"cdr_id": cdr_id, "recording_name": cdr.recording_name},
                )
        return cdr_id

    def transcript_ready(self, cdrs: CdrStore, cdr_id: int, transcript: str) -> None:
        """Add a finished call's transcript to its CDR, and tell."""
        with transaction(cdrs.db):
            cdrs.set_transcript(cdr_id, transcript)
            cdr = cdrs.get(cdr_id)
            if cdr is not None:
                self.emit(
                    cdr.account_id,
                    EventType.TRANSCRIPT_READY,
                    cdr.request_id,
                    {"cdr_id": cdr_id, "transcript": transcript},
                )

    # -- voicemail ------------------------------------------------------------

    def voicemail_left(self, account_id: str, message: MessageRecord) -> None:
        self.emit(
            account_id,
            EventType.VOICEMAIL_LEFT,
            "",
            {
                "extension": message.extension,
                "message_id": message.id,
                "caller": message.caller,
                "duration": message.duration,
                "left_at": iso(message.created_at),
            },
        )

    # -- campaigns --------------------------------------------------------------

    def job_status(
        self,
        account_id: str,
        campaign_id: str,
        job_id: int,
        phone: str,
        status: str,
        request_id: str = "",
    ) -> None:
        self.emit(
            account_id,
            EventType.CAMPAIGN_JOB_STATUS,
            request_id,
            {"campaign_id": campaign_id, "job_id": job_id, "phone": phone, "status": status},
        )

    def campaign_finished(self, account_id: str, campaign_id: str, counts: dict[str, int]) -> None:
        self.emit(
            account_id,
            EventType.CAMPAIGN_FINISHED,
            "",
            {"campaign_id": campaign_id, "jobs": counts},
        )
