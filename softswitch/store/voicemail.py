"""Voicemail: each extension's box (PIN hash, recorded greeting) and its messages."""

from __future__ import annotations

from dataclasses import dataclass

from .engine import Database


@dataclass(slots=True)
class BoxRecord:
    extension: str
    pin_hash: str  # "" = no PIN: listening from the phone is refused
    greeting_file: str  # a greeting recorded from the phone (*97, 0); "" = none


@dataclass(slots=True)
class MessageRecord:
    id: int
    extension: str
    caller: str
    created_at: float  # epoch seconds
    duration: float  # seconds
    file: str  # the WAV's name inside the extension's folder
    heard: bool
    transcript: str = ""


@dataclass(slots=True, frozen=True)
class MessageCounts:
    new: int
    old: int


_MESSAGE_COLUMNS = "id, extension, caller, created_at, duration, file, heard, transcript"


class VoicemailStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- boxes --------------------------------------------------------------

    def box(self, extension: str) -> BoxRecord | None:
        row = self.db.execute(
            "SELECT extension, pin_hash, greeting_file FROM voicemail_boxes WHERE extension = ?",
            [extension],
        ).fetchone()
        return BoxRecord(*row) if row else None

    def put_box(self, box: BoxRecord) -> None:
        self.db.execute(
            "INSERT INTO voicemail_boxes (extension, pin_hash, greeting_file) VALUES (?, ?, ?)"
            " ON CONFLICT (extension) DO UPDATE SET pin_hash = excluded.pin_hash,"
            " greeting_file = excluded.greeting_file",
            [box.extension, box.pin_hash, box.greeting_file],
        )

    def set_greeting(self, extension: str, greeting_file: str) -> None:
        self.db.execute(
            "UPDATE voicemail_boxes SET greeting_file = ? WHERE extension = ?",
            [greeting_file, extension],
        )

    def delete_boxes_except(self, extensions: list[str]) -> None:
        marks = ",".join("?" for _ in extensions) or "''"
        self.db.execute(
            f"DELETE FROM voicemail_boxes WHERE extension NOT IN ({marks})", [*extensions]
        )

    # -- messages -----------------------------------------------------------

    def add_message(
        self, extension: str, caller: str, created_at: float, duration: float, file: str
    ) -> MessageRecord:
        message_id = self.db.execute(
            "INSERT INTO voicemail_messages (extension, caller, created_at, duration, file,"
            " heard, transcript) VALUES (?, ?, ?, ?, ?, 0, '') RETURNING id",
            [extension, caller, created_at, duration, file],
        ).scalar()
        return MessageRecord(int(message_id), extension, caller, created_at, duration, file, False)

    def message(self, extension: str, message_id: int) -> MessageRecord | None:
        row = self.db.execute(
            f"SELECT {_MESSAGE_COLUMNS} FROM voicemail_messages WHERE extension = ? AND id = ?",
            [extension, message_id],
        ).fetchone()
        return _message(row) if row else None

    def messages(self, extension: str, heard: bool | None = None) -> list[MessageRecord]:
        """The box's messages, oldest first; only new (heard=False) or saved ones if asked."""
        where = "extension = ?"
        params: list[object] = [extension]
        if heard is not None:
            where += " AND heard = ?"
            params.append(int(heard))
        rows = self.db.execute(
            f"SELECT {_MESSAGE_COLUMNS} FROM voicemail_messages WHERE {where}"
            " ORDER BY created_at, id",
            params,
        )
        return [_message(row) for row in rows]

    def counts(self, extension: str) -> MessageCounts:
        row = self.db.execute(
            "SELECT COUNT(CASE WHEN heard = 0 THEN 1 END), COUNT(CASE WHEN heard = 1 THEN 1 END)"
            " FROM voicemail_messages WHERE extension = ?",
            [extension],
        ).fetchone()
        return MessageCounts(int(row[0]), int(row[1]))

    def mark_heard(self, extension: str, message_id: int, heard: bool = True) -> bool:
        cursor = self.db.execute(
            "UPDATE voicemail_messages SET heard = ? WHERE extension = ? AND id = ?",
            [int(heard), extension, message_id],
        )
        return cursor.rowcount > 0

    def set_transcript(self, message_id: int, transcript: str) -> None:
        self.db.execute(
            "UPDATE voicemail_messages SET transcript = ? WHERE id = ?", [transcript, message_id]
        )

    def delete_message(self, extension: str, message_id: int) -> MessageRecord | None:
        """Forget the message; returns it (its file is the caller's to remove) or None."""
        found = self.message(extension, message_id)
        if found is not None:
            self.db.execute("DELETE FROM voicemail_messages WHERE id = ?", [message_id])
        return found


def _message(row: tuple[object, ...]) -> MessageRecord:
    id_, extension, caller, created_at, duration, file, heard, transcript = row
    return MessageRecord(
        int(str(id_)),
        str(extension),
        str(caller),
        float(str(created_at)),
        float(str(duration)),
        str(file),
        bool(heard),
        str(transcript or ""),
    )
