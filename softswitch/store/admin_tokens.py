"""Admin API credentials: an id and the SHA-256 of each token (never the token itself).

A token is 32 random bytes, so a plain SHA-256 is enough to keep a stolen database from
yielding a usable credential (there is nothing to brute-force, unlike a chosen
password), and the digest is what a request is looked up by.
"""

from __future__ import annotations

from dataclasses import dataclass

from .engine import Database


@dataclass(slots=True)
class AdminTokenRecord:
    id: str
    digest: str  # hex SHA-256 of the token
    created_at: float


_COLUMNS = "id, digest, created_at"


class AdminTokenStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def by_digest(self, digest: str) -> AdminTokenRecord | None:
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM admin_tokens WHERE digest = ?", [digest]
        ).fetchone()
        return AdminTokenRecord(*row) if row else None

    def all(self) -> list[AdminTokenRecord]:
        return [
            AdminTokenRecord(*row)
            for row in self.db.execute(f"SELECT {_COLUMNS} FROM admin_tokens ORDER BY created_at")
        ]

    def insert(self, record: AdminTokenRecord) -> None:
        self.db.execute(
            f"INSERT INTO admin_tokens ({_COLUMNS}) VALUES (?, ?, ?)",
            [record.id, record.digest, record.created_at],
        )

    def delete(self, token_id: str) -> bool:
        return self.db.execute("DELETE FROM admin_tokens WHERE id = ?", [token_id]).rowcount == 1
