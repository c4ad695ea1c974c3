"""Request bodies of `/api/conferences` (api.cpaas.conferences), in the style of
api.cpaas.models: numbers as JSON strings or numbers, booleans also as "true"/"false"."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from softswitch.config import MAX_ROOM_SIZE

from .models import AlsoAccepts, CallerId, Number, Whole, _Body


def _flag(value: Any) -> Any:
    """true/false, "true"/"false", "on"/"off", "1"/"0"."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "on", "1", "yes"):
            return True
        if text in ("false", "off", "0", "no"):
            return False
        raise ValueError(f"{value!r} is not true or false")
    return value


def _digits(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip() and not value.strip().isdigit():
        raise ValueError(f"{value!r} is not digits")
    return value.strip() if isinstance(value, str) else value


FLAG_WORDS = ("true", "false", "on", "off", "1", "0", "yes", "no")
Flag = Annotated[bool, BeforeValidator(_flag), AlsoAccepts(({"enum": list(FLAG_WORDS)},))]
DIGITS = AlsoAccepts(({"type": "integer", "minimum": 0},))
RoomNumber = Annotated[str, BeforeValidator(_digits), Field(min_length=1, max_length=20), DIGITS]
Pin = Annotated[str, BeforeValidator(_digits), Field(max_length=12), DIGITS]
Size = Annotated[Whole, Field(ge=2, le=MAX_ROOM_SIZE)]
Name = Annotated[str, Field(max_length=200)]


class ConferenceCreate(_Body):
    room: RoomNumber
    pin: Pin = ""
    name: Name = ""
    record: Flag = False
    max_participants: Size = 10


class ConferenceUpdate(_Body):
    pin: Pin | None = None
    name: Name | None = None
    record: Flag | None = None
    max_participants: Size | None = None


class ParticipantDial(_Body):
    number: Number
    caller_id: CallerId | None = None


class ParticipantUpdate(_Body):
    muted: Flag
