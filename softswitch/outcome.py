"""How a placed call ended: its dial status and the outcome the campaign dialer acts on.

The call service produces outcomes and the dialer consumes them; neither owns the
other, so the type sits beside both (the dialer never imports the call service).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from media.amd import AmdResult


class DialStatus(StrEnum):
    """Asterisk's DIALSTATUS: the values are what CDRs and campaign reports store."""

    ANSWER = "ANSWER"
    BUSY = "BUSY"
    NOANSWER = "NOANSWER"
    CANCEL = "CANCEL"
    CHANUNAVAIL = "CHANUNAVAIL"
    CONGESTION = "CONGESTION"
    DND = "DND"  # never dialed: the number is on the do-not-disturb list


def dial_status(status: int, cancelled: bool = False) -> DialStatus:
    """The dial status for the SIP final response of a leg."""
    if cancelled:
        return DialStatus.CANCEL
    if 200 <= status < 300:
        return DialStatus.ANSWER
    if status in (486, 600, 603):
        return DialStatus.BUSY
    if status in (408, 487):
        return DialStatus.NOANSWER
    if status in (404, 410, 480, 484, 604):
        return DialStatus.CHANUNAVAIL
    return DialStatus.CONGESTION


@dataclass(slots=True)
class CallOutcome:
    """What a placed call came to: what the dialer records on the attempt and acts on."""

    answered: bool
    sip_status: int
    # a DialStatus, or one of the dialer's own (INTERRUPTED, ERROR), or what a CDR holds
    dial_status: str
    started_at: float
    ended_at: float
    answered_at: float | None = None
    result: str | None = None  # set by the flow (set_result)
    report_data: list[tuple[str, str, int]] = field(default_factory=list)  # (header, value, order)
    redial: tuple[int, int | None] | None = None  # (minutes, priority) asked for by the flow
    cdr_id: int | None = None
    asr_seconds: float = 0.0  # audio the flow's speech recognizer processed
    # answering-machine detection's AnsweredBy value; "" when the call had none
    answered_by: str = ""
    # the detector's whole result (where the beep started, when voice was first heard)
    amd: AmdResult | None = None

    @property
    def machine(self) -> bool:
        """Detection found a machine (AnsweredBy's machine_* values)."""
        return self.answered_by.startswith("machine")
