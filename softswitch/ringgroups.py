"""Ring groups as data: extensions rung together (simultaneous) or one after another
(sequential, each for ``member_timeout`` seconds), for at most ``timeout`` seconds in
all, then the ``fallback`` destination (none: the caller is told nobody answered)."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .destination import DestinationField, DestinationKind

MAX_MEMBERS = 32


class Strategy(StrEnum):
    SIMULTANEOUS = "simultaneous"
    SEQUENTIAL = "sequential"


class RingGroup(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    account: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    members: list[str] = Field(min_length=1, max_length=MAX_MEMBERS)
    strategy: Strategy = Strategy.SIMULTANEOUS
    member_timeout: float = Field(15.0, gt=0, le=300)
    timeout: float = Field(60.0, gt=0, le=3600)
    fallback: DestinationField | None = None

    @model_validator(mode="after")
    def _members(self) -> Self:
        for i, member in enumerate(self.members):
            if not member.isdigit():
                raise ValueError(f"members[{i}]: {member!r} is not an extension number")
            if member in self.members[:i]:
                raise ValueError(f"members[{i}]: {member} is listed twice")
        if self.fallback is not None:
            if self.fallback.kind is DestinationKind.NUMBER:
                raise ValueError("fallback: cannot be an outside number")
            if self.fallback.kind is DestinationKind.RING_GROUP and self.fallback.target == self.id:
                raise ValueError("fallback: a ring group cannot fall back to itself")
        return self
