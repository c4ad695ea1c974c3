"""Conference rooms made through the API, per account (rooms of the config file are not
stored: the file is their source)."""

from __future__ import annotations

from collections.abc import Iterator

from ..config import ConferenceConfig
from .engine import Database

_COLUMNS = "number, pin, name, record, max_participants, account_id"


def _room(row: tuple[str, str, str, int, int, str]) -> ConferenceConfig:
    number, pin, name, record, size, account = row
    return ConferenceConfig(number, pin, name, bool(record), size, account)


class ConferenceStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def all(self) -> Iterator[ConferenceConfig]:
        for row in self.db.execute(f"SELECT {_COLUMNS} FROM conference_rooms ORDER BY number"):
            yield _room(row)

    def put(self, room: ConferenceConfig, now: float) -> None:
        """Create or replace the room with this number."""
        self.db.execute(
            "INSERT INTO conference_rooms (number, account_id, pin, name, record,"
            " max_participants, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(number) DO UPDATE SET pin = excluded.pin, name = excluded.name,"
            " record = excluded.record, max_participants = excluded.max_participants",
            [
                room.number,
                room.account,
                room.pin,
                room.name,
                int(room.record),
                room.max_participants,
                now,
            ],
        )

    def delete(self, number: str) -> None:
        self.db.execute("DELETE FROM conference_rooms WHERE number = ?", [number])
