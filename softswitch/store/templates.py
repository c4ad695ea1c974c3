"""OTP announcement templates (AN...): per-account texts with an {otp} variable."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from .engine import Database


@dataclass(slots=True)
class AnnounceTemplate:
    id: str
    account_id: str
    name: str
    text: str
    created_at: float


_COLUMNS = "id, account_id, name, text, created_at"


class TemplateStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, account_id: str, name: str, text: str, now: float) -> AnnounceTemplate:
        item = AnnounceTemplate("AN" + secrets.token_hex(5), account_id, name, text, now)
        self.db.execute(
            f"INSERT INTO announce_templates ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
            [item.id, item.account_id, item.name, item.text, item.created_at],
        )
        return item

    def get(self, account_id: str, template_id: str) -> AnnounceTemplate | None:
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM announce_templates WHERE id = ? AND account_id = ?",
            [template_id, account_id],
        ).fetchone()
        return AnnounceTemplate(*row) if row else None

    def all(self, account_id: str) -> list[AnnounceTemplate]:
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM announce_templates"
            " WHERE account_id = ? ORDER BY created_at, id",
            [account_id],
        )
        return [AnnounceTemplate(*row) for row in rows]

    def delete(self, account_id: str, template_id: str) -> bool:
        cursor = self.db.execute(
            "DELETE FROM announce_templates WHERE id = ? AND account_id = ?",
            [template_id, account_id],
        )
        return cursor.rowcount == 1
