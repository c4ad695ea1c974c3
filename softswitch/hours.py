"""Business hours: weekday/time ranges in a time zone, and holidays, as data.

An inbound number (softswitch.numbers) and an IVR's ``hours`` step both ask one
question of them: is the business open at this instant? Ranges are wall-clock times in
the rules' own time zone, so a DST change moves the UTC instant of "09:00" and never the
local opening time; a range may end at "24:00" (midnight). A holiday (a local date) is
closed all day.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


_WEEKDAYS = list(Weekday)  # date.weekday() order: Monday is 0


def _minutes(text: str, *, allow_24: bool) -> int:
    hours, sep, minutes = text.partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"{text!r} is not HH:MM")
    value = int(hours) * 60 + int(minutes)
    limit = 24 * 60 if allow_24 else 24 * 60 - 1
    if int(minutes) > 59 or value > limit:
        raise ValueError(f"{text!r} is not a time of day")
    return value


class OpenRange(BaseModel):
    """Open on ``days`` from ``start`` to ``end`` (local "HH:MM"; end "24:00" = midnight)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: list[Weekday] = Field(min_length=1)
    start: str
    end: str

    @field_validator("start")
    @classmethod
    def _start(cls, value: str) -> str:
        _minutes(value, allow_24=False)
        return value

    @field_validator("end")
    @classmethod
    def _end(cls, value: str) -> str:
        _minutes(value, allow_24=True)
        return value

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.first_minute >= self.last_minute:
            raise ValueError(f"end {self.end} is not after start {self.start}")
        return self

    @property
    def first_minute(self) -> int:
        return _minutes(self.start, allow_24=False)

    @property
    def last_minute(self) -> int:
        return _minutes(self.end, allow_24=True)

    def covers(self, day: Weekday, minute: int) -> bool:
        return day in self.days and self.first_minute <= minute < self.last_minute


class BusinessHours(BaseModel):
    """When the business is open; everything else (and every holiday) is closed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    time_zone: str
    open: list[OpenRange] = Field(min_length=1)
    holidays: list[dt.date] = Field(default_factory=list)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        zone(value)
        return value

    @model_validator(mode="after")
    def _no_overlap(self) -> Self:
        # Overlapping ranges are almost always a typo ("17:00" meant as "07:00"); refuse
        # them rather than guess which one the operator meant.
        for i, later in enumerate(self.open):
            for j, earlier in enumerate(self.open[:i]):
                days = [d for d in later.days if d in earlier.days]
                if days and (
                    later.first_minute < earlier.last_minute
                    and earlier.first_minute < later.last_minute
                ):
                    raise ValueError(f"open[{i}] overlaps open[{j}] on {days[0]}")
        return self

    def is_open(self, now: dt.datetime) -> bool:
        """Open at the instant ``now`` (timezone-aware; naive means UTC)?"""
        if now.tzinfo is None:
            now = now.replace(tzinfo=dt.UTC)
        local = now.astimezone(zone(self.time_zone))
        if local.date() in self.holidays:
            return False
        day = _WEEKDAYS[local.weekday()]
        minute = local.hour * 60 + local.minute
        return any(r.covers(day, minute) for r in self.open)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; ValueError naming it when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name!r}") from None
