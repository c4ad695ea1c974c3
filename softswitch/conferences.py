"""The conference rooms: their settings (config file and API, per account) and the live
`Room` of each one somebody is in.

A room number is dialable by every extension, so numbers are unique across accounts
and may not be an extension's. Rooms of the config file are read-only to the API.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

from media.clock import MediaClock
from media.recorder import WavWriter

from .conference import Room
from .config import ConferenceConfig, room_problem
from .store.conferences import ConferenceStore


class ConferenceErrorKind(StrEnum):
    NOT_FOUND = "not found"
    EXISTS = "exists"
    INVALID = "invalid"
    READ_ONLY = "read only"


class ConferenceError(Exception):
    def __init__(self, message: str, kind: ConferenceErrorKind) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


class Conferences:
    def __init__(
        self,
        configured: list[ConferenceConfig],
        store: ConferenceStore,
        clock: MediaClock,
        recordings_dir: Path,
        is_extension: Callable[[str], bool],
    ) -> None:
        self.store = store
        self.clock = clock
        self.recordings_dir = recordings_dir
        self.is_extension = is_extension
        self._configured = {r.number: r for r in configured}
        self._stored = {r.number: r for r in store.all() if r.number not in self._configured}
        self._live: dict[str, Room] = {}

    # -- settings ---------------------------------------------------------------

    def settings(self, number: str) -> ConferenceConfig | None:
        """The room dialed as ``number``, if there is one."""
        return self._configured.get(number) or self._stored.get(number)

    def from_config(self, number: str) -> bool:
        """Whether the room is the config file's (read-only to the API)."""
        return number in self._configured

    def of_account(self, account: str) -> list[ConferenceConfig]:
        rooms = [*self._configured.values(), *self._stored.values()]
        return sorted((r for r in rooms if r.account == account), key=lambda r: r.number)

    def owned(self, account: str, number: str) -> ConferenceConfig:
        room = self.settings(number)
        if room is None or room.account != account:
            raise ConferenceError(f"no conference room {number}", ConferenceErrorKind.NOT_FOUND)
        return room

    def create(self, room: ConferenceConfig) -> ConferenceConfig:
        if self.settings(room.number) is not None:
            raise ConferenceError(
                f"conference room {room.number} exists", ConferenceErrorKind.EXISTS
            )
        self._check(room)
        self.store.put(room, time.time())
        self._stored[room.number] = room
        return room

    def update(self, account: str, number: str, **changes: object) -> ConferenceConfig:
        current = self._writable(account, number)
        room = dataclasses.replace(current, **changes)  # type: ignore[arg-type]
        self._check(room)
        self.store.put(room, time.time())
        self._stored[number] = room
        live = self._live.get(number)
        if live is not None:  # takes effect for those joining from now on
            live.max_participants = min(room.max_participants, live.max_participants)
        return room

    async def delete(self, account: str, number: str) -> None:
        """Forget the room; whoever is in it is hung up."""
        self._writable(account, number)
        self.store.delete(number)
        del self._stored[number]
        live = self._live.get(number)
        if live is not None:
            for member in live.participants:
                await live.kick(member)

    def _writable(self, account: str, number: str) -> ConferenceConfig:
        room = self.owned(account, number)
        if self.from_config(number):
            raise ConferenceError(
                f"conference room {number} is defined in the config file",
                ConferenceErrorKind.READ_ONLY,
            )
        return room

    def _check(self, room: ConferenceConfig) -> None:
        problem = room_problem(room, set())
        if problem is None and self.is_extension(room.number):
            problem = f"conference {room.number}: number is an extension's"
        if problem is not None:
            raise ConferenceError(problem, ConferenceErrorKind.INVALID)

    # -- live rooms -------------------------------------------------------------

    def live(self, number: str) -> Room | None:
        """The room's mix if anybody is in it."""
        return self._live.get(number)

    def open(self, settings: ConferenceConfig) -> Room:
        """The live room for ``settings``, started (and its recording opened) if empty."""
        room = self._live.get(settings.number)
        if room is not None:
            return room
        recording = None
        if settings.record:
            # beside the account's call recordings: GET /api/recordings/{name} serves it
            directory = self.recordings_dir
            if settings.account:
                directory = directory / settings.account
            stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
            path = directory / f"conference-{settings.number}-{stamp}.wav"
            k = 1
            while path.exists():
                k += 1
                path = directory / f"conference-{settings.number}-{stamp}-{k}.wav"
            recording = WavWriter(path)
        room = Room(
            settings.number,
            self.clock,
            max_participants=settings.max_participants,
            recording=recording,
            on_empty=self._emptied,
        )
        self._live[settings.number] = room
        return room

    def _emptied(self, room: Room) -> None:
        if self._live.get(room.number) is room:
            del self._live[room.number]

    def close(self) -> None:
        for room in list(self._live.values()):
            room.close()
        self._live.clear()
