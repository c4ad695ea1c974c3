"""The CDR of a finished call: one builder for every kind of call the service places."""

from __future__ import annotations

import itertools
from enum import StrEnum

from ..outcome import DialStatus, dial_status
from ..store.cdrs import Cdr
from .live import LiveCall


class CallStatus(StrEnum):
    """The CDR's call_status: the dial status as the CPaaS spec words it."""

    ANSWERED = "ANSWERED"
    BUSY = "BUSY"
    NO_ANSWER = "NO ANSWER"
    FAILED = "FAILED"


CALL_STATUS: dict[DialStatus, CallStatus | None] = {
    DialStatus.ANSWER: CallStatus.ANSWERED,
    DialStatus.BUSY: CallStatus.BUSY,
    DialStatus.NOANSWER: CallStatus.NO_ANSWER,
    DialStatus.CANCEL: CallStatus.NO_ANSWER,
    DialStatus.CHANUNAVAIL: CallStatus.FAILED,
    DialStatus.CONGESTION: CallStatus.FAILED,
    DialStatus.DND: None,
}


class CdrBuilder:
    """Turns a finished `LiveCall` into its CDR row; numbers the rows (uniqueid)."""

    def __init__(self) -> None:
        self._unique = itertools.count(1)

    def build(
        self,
        call: LiveCall,
        *,
        sip_status: int,
        answered_at: float | None,
        ended_at: float,
        direction: str,
        context: str,
        customer_number: str,
        dtmf_inputs: str,
        recording_name: str,
        campaign_id: str = "",
        list_id: str = "",
        answered_by: str = "",
    ) -> Cdr:
        """``sip_status`` is the failing leg's status (or 200); ``answered_at`` when the
        called party answered, None if it never did; ``answered_by`` what answering-machine
        detection said (AnsweredBy), "" when the call had none."""
        status = DialStatus.ANSWER if answered_at is not None else dial_status(sip_status)
        call_status = CALL_STATUS[status]
        return Cdr(
            account_id=call.account_id,
            request_id=call.request_id,
            call_direction=direction,
            destination_context=context,
            caller_id=call.caller_id,
            agent_number=call.agent_number,
            customer_number=customer_number,
            dialed_number=call.customer_number,
            call_date=call.started_at,
            answer=answered_at,
            end=ended_at,
            call_duration=round(ended_at - call.started_at, 4),
            billsec=round(ended_at - answered_at, 4) if answered_at is not None else 0.0,
            call_status=call_status.value if call_status is not None else None,
            dial_status=status.value,
            dtmf_inputs=dtmf_inputs,
            recording_name=recording_name,
            uniqueid=f"{int(call.started_at)}.{next(self._unique)}",
            campaign_id=campaign_id,
            list_id=list_id,
            hangup_cause=call.hangup_cause(),
            transfers="; ".join(call.transfers),
            answered_by=answered_by,
        )
