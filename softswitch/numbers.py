"""Inbound numbers (DIDs) as data: which destination a call to one of our numbers from
a trunk reaches, and (with business hours) which one when the business is closed.

The number's account owns the calls it receives. `check_destination` is the one check
that a destination names something that exists, used when numbers, ring groups and
IVR flows are saved; errors name the field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .destination import Destination, DestinationField, DestinationKind
from .hours import BusinessHours

M = TypeVar("M", bound=BaseModel)


class NumberError(ValueError):
    """A number, ring group or destination that cannot be used; the message names the field."""


def did_key(number: str) -> str:
    """How a DID is stored and looked up: its digits ("+1 555-0100" -> "15550100")."""
    return "".join(ch for ch in number if ch.isdigit())


class InboundNumber(BaseModel):
    """``number`` reaches ``destination``; with ``hours`` set, ``closed`` outside them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    number: str = Field(pattern=r"^\+?[0-9]{2,32}$")
    account: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    destination: DestinationField
    hours: BusinessHours | None = None
    closed: DestinationField | None = None

    @field_validator("number")
    @classmethod
    def _digits(cls, value: str) -> str:
        return did_key(value)

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if (self.hours is None) != (self.closed is None):
            raise ValueError("hours and closed go together: set both or neither")
        for name, dest in (("destination", self.destination), ("closed", self.closed)):
            if dest is not None and dest.kind is DestinationKind.NUMBER:
                raise ValueError(f"{name}: a number's destination cannot be an outside number")
        return self

    def destination_at(self, now: dt.datetime) -> Destination:
        if self.hours is None or self.closed is None or self.hours.is_open(now):
            return self.destination
        return self.closed

    def destinations(self) -> list[tuple[str, Destination]]:
        found = [("destination", self.destination)]
        if self.closed is not None:
            found.append(("closed", self.closed))
        return found


def parse_model(model: type[M], data: object, where: str = "") -> M:
    """Validate ``data``; NumberError "where.field: message" on the first problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        field = ".".join(p for p in (where, loc) if p)
        message = first["msg"].removeprefix("Value error, ")
        raise NumberError(f"{field}: {message}" if field else message) from None


@dataclass(slots=True)
class Directory:
    """What destinations may name, as lookups: does this extension / ring group / flow /
    conference room exist for this account?"""

    extension: Callable[[str], bool]
    ring_group: Callable[[str, str], bool]  # (account, id)
    flow: Callable[[str, str], bool]  # (account, id or name)
    room: Callable[[str], bool] = lambda number: True  # a conference room's number

    def check(self, field: str, destination: Destination, account: str) -> None:
        kind, target = destination.kind, destination.target
        missing = (
            (kind in (DestinationKind.EXTENSION, DestinationKind.VOICEMAIL))
            and not self.extension(target)
            or kind is DestinationKind.RING_GROUP
            and not self.ring_group(account, target)
            or kind is DestinationKind.FLOW
            and not self.flow(account, target)
            or kind is DestinationKind.CONFERENCE
            and not self.room(target)
        )
        if missing:
            raise NumberError(f"{field}: unknown destination {destination}")
