"""Feature codes dialed from a phone: the one table of what ``*72...`` and friends do.

The codes are Asterisk's defaults, so a phone's programmed keys and a user's habits
carry over. A code that takes a number (``*72103``) has it right after the code; a
code the table does not know is not a feature (it is routed like any other number).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Feature(StrEnum):
    FORWARD_ALWAYS_ON = "forward_always_on"
    FORWARD_ALWAYS_OFF = "forward_always_off"
    DND_ON = "dnd_on"
    DND_OFF = "dnd_off"
    FORWARD_BUSY_ON = "forward_busy_on"
    FORWARD_BUSY_OFF = "forward_busy_off"
    FORWARD_NO_ANSWER_ON = "forward_no_answer_on"
    FORWARD_NO_ANSWER_OFF = "forward_no_answer_off"
    PICKUP_GROUP = "pickup_group"
    PICKUP_DIRECTED = "pickup_directed"


@dataclass(frozen=True, slots=True)
class FeatureCode:
    code: str
    feature: Feature
    takes_number: bool = False


# No code is a prefix of another, so the order does not matter.
CODES: tuple[FeatureCode, ...] = (
    FeatureCode("*72", Feature.FORWARD_ALWAYS_ON, takes_number=True),
    FeatureCode("*73", Feature.FORWARD_ALWAYS_OFF),
    FeatureCode("*78", Feature.DND_ON),
    FeatureCode("*79", Feature.DND_OFF),
    FeatureCode("*90", Feature.FORWARD_BUSY_ON, takes_number=True),
    FeatureCode("*91", Feature.FORWARD_BUSY_OFF),
    FeatureCode("*92", Feature.FORWARD_NO_ANSWER_ON, takes_number=True),
    FeatureCode("*93", Feature.FORWARD_NO_ANSWER_OFF),
    FeatureCode("*8", Feature.PICKUP_GROUP),
    FeatureCode("**", Feature.PICKUP_DIRECTED, takes_number=True),
)

MAX_NUMBER = 32  # digits of a forwarding target or a picked-up extension, at most


@dataclass(frozen=True, slots=True)
class FeatureRequest:
    feature: Feature
    number: str = ""  # the forwarding target or the extension to pick up


def parse(dialed: str) -> FeatureRequest | None:
    """The feature ``dialed`` asks for; None when it is no feature code (or a code
    that needs a number dialed without one, or with something else than digits)."""
    for entry in CODES:
        if not dialed.startswith(entry.code):
            continue
        rest = dialed[len(entry.code) :]
        if not entry.takes_number:
            if rest:
                continue
            return FeatureRequest(entry.feature)
        number = rest.removeprefix("+")
        if number.isdigit() and number.isascii() and len(rest) <= MAX_NUMBER:
            return FeatureRequest(entry.feature, rest)
        return None
    return None
