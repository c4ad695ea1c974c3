"""CPaaS API accounts: the id and a salted hash of the secret (never the secret itself)."""

from __future__ import annotations

from dataclasses import dataclass

from .engine import Database


@dataclass(slots=True)
class AccountRecord:
    id: str
    secret_hash: str
    source: str  # "config" | "generated" | "cli"
    created_at: float
    rotated_at: float


_COLUMNS = "id, secret_hash, source, created_at, rotated_at"


class AccountStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, account_id: str) -> AccountRecord | None:
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM accounts WHERE id = ?", [account_id]
        ).fetchone()
        return AccountRecord(*row) if row else None

    def secret_hash(self, account_id: str) -> str | None:
        row = self.db.execute(
            "SELECT secret_hash FROM accounts WHERE id = ?", [account_id]
        ).fetchone()
        return row[0] if row else None

    def all(self) -> list[AccountRecord]:
        return [
            AccountRecord(*row)
            for row in self.db.execute(f"SELECT {_COLUMNS} FROM accounts ORDER BY id")
        ]

    def insert(self, record: AccountRecord) -> None:
        self.db.execute(
            f"INSERT INTO accounts ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
            [record.id, record.secret_hash, record.source, record.created_at, record.rotated_at],
        )

    def set_secret(self, account_id: str, secret_hash: str, source: str, now: float) -> bool:
        cursor = self.db.execute(
            "UPDATE accounts SET secret_hash = ?, source = ?, rotated_at = ? WHERE id = ?",
            [secret_hash, source, now, account_id],
        )
        return cursor.rowcount == 1

    def delete(self, account_id: str) -> bool:
        return self.db.execute("DELETE FROM accounts WHERE id = ?", [account_id]).rowcount == 1
