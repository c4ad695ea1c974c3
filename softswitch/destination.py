"""Where a call can be sent: an extension, a ring group, a flow (IVR), a voicemail box,
a conference room, or (from an IVR only) an outside number.

Written ``kind:target`` in the config, the API and flows ("ring_group:sales",
"extension:101", "flow:main menu", "voicemail:101", "conference:800",
"number:+15551234567"), so a destination reads the same everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema


class DestinationKind(StrEnum):
    EXTENSION = "extension"
    RING_GROUP = "ring_group"
    FLOW = "flow"
    VOICEMAIL = "voicemail"
    CONFERENCE = "conference"
    NUMBER = "number"  # an outside number, through a trunk: IVR route steps only


_TARGET = {
    DestinationKind.EXTENSION: re.compile(r"[0-9]{1,32}"),
    DestinationKind.RING_GROUP: re.compile(r"[A-Za-z0-9_.-]{1,64}"),
    DestinationKind.FLOW: re.compile(r"[^\x00-\x1f]{1,100}"),  # a flow id or name
    DestinationKind.VOICEMAIL: re.compile(r"[0-9]{1,32}"),
    DestinationKind.CONFERENCE: re.compile(r"[0-9]{1,32}"),
    DestinationKind.NUMBER: re.compile(r"\+?[0-9*#]{1,32}"),
}


@dataclass(frozen=True, slots=True)
class Destination:
    kind: DestinationKind
    target: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}"

    @classmethod
    def parse(cls, value: Any) -> Destination:
        """``kind:target``; ValueError saying what is wrong."""
        if isinstance(value, Destination):
            return value
        if not isinstance(value, str):
            raise ValueError("must be a string kind:target")
        kind, sep, target = value.partition(":")
        try:
            parsed = DestinationKind(kind.strip())
        except ValueError:
            kinds = ", ".join(k.value for k in DestinationKind)
            raise ValueError(f"{value!r}: kind must be one of {kinds}") from None
        target = target.strip()
        if not sep or not _TARGET[parsed].fullmatch(target):
            raise ValueError(f"{value!r}: bad {parsed} target")
        return cls(parsed, target)


# a pydantic field holding a Destination, written and read as "kind:target"
DestinationField = Annotated[
    Destination,
    BeforeValidator(Destination.parse),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string"}),
]
