"""Where a call to an extension goes when the extension forwards it or is not there.

Pure decisions over an extension's ``CallFeatures``: the switch asks ``before_ringing``
(DND, forward always), rings the extension for ``ring_seconds``, and on failure asks
``after_failure`` (busy, no answer). ``voicemail_target`` is the one place where
"busy / DND / no answer -> voicemail" will be decided once voicemail exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .store.call_features import CallFeatures

# a forwarded call may be forwarded again by its new target, this many times at most
MAX_HOPS = 3

BUSY_STATUSES = frozenset({486, 600})  # every device busy (softswitch.forking ranks 486 first)
# nobody answered within the time, or the extension is not registered / not reachable
NO_ANSWER_STATUSES = frozenset({408, 480})


class Reason(StrEnum):
    ALWAYS = "always"
    DND = "dnd"
    BUSY = "busy"
    NO_ANSWER = "no answer"


@dataclass(frozen=True, slots=True)
class Divert:
    """The call does not (or no longer) ring the extension: it goes to ``target``, or,
    with no target, the caller is told ``status``."""

    reason: Reason
    target: str = ""
    status: int = 486


def voicemail_target(extension: str, reason: Reason) -> str | None:
    """THE HOOK for voicemail: the number that takes ``extension``'s call instead of a
    busy signal or a failure when it is busy, on DND or not answering; None = none (no
    voicemail yet). Forwarding configured for the case wins over voicemail."""
    return None


def before_ringing(extension: str, features: CallFeatures) -> Divert | None:
    """Diverted before the extension rings: forwarded always, or DND (486 or voicemail)."""
    if features.forward_always:
        return Divert(Reason.ALWAYS, features.forward_always)
    if features.dnd:
        return Divert(Reason.DND, voicemail_target(extension, Reason.DND) or "")
    return None


def ring_seconds(extension: str, features: CallFeatures, default: float) -> float:
    """How long the extension rings: its no-answer time when something takes the call
    after it, else the switch's ring timeout."""
    if features.forward_no_answer or voicemail_target(extension, Reason.NO_ANSWER):
        return float(features.no_answer_seconds)
    return default


def after_failure(extension: str, features: CallFeatures, status: int) -> Divert | None:
    """Where the call goes after ringing the extension ended with ``status``; None =
    nowhere, the caller gets the failure."""
    if status in BUSY_STATUSES:
        reason, target = Reason.BUSY, features.forward_busy
    elif status in NO_ANSWER_STATUSES:
        reason, target = Reason.NO_ANSWER, features.forward_no_answer
    else:
        return None
    target = target or voicemail_target(extension, reason) or ""
    return Divert(reason, target, status) if target else None
