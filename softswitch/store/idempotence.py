"""Idempotence keys of the Calls API: per account, valid 24 hours from first use."""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

KEY_LIFETIME = 24 * 3600.0

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS idempotence_keys (
        account_id TEXT NOT NULL,
        idem_key TEXT NOT NULL,
        created_at REAL NOT NULL,
        result TEXT NOT NULL,
        PRIMARY KEY (account_id, idem_key)
    )""",
    "CREATE INDEX IF NOT EXISTS idempotence_age ON idempotence_keys (created_at)",
)


class IdempotenceStore:
    def __init__(self, db: sqlite_utils.Database, lifetime: float = KEY_LIFETIME) -> None:
        self.db = db
        self.lifetime = lifetime
        for statement in _SCHEMA:
            db.execute(statement)

    def get(self, account_id: str, key: str, now: float) -> Any | None:
        """The stored result of the key's first use, None when unused or expired."""
        row = self.db.execute(
            "SELECT result FROM idempotence_keys WHERE account_id = ? AND idem_key = ?"
            " AND created_at > ?",
            [account_id, key, now - self.lifetime],
        ).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, account_id: str, key: str, now: float, result: Any) -> None:
        """Record a first use (replacing an expired one). Call inside the transaction that
        created the result, so the key and what it stands for commit together."""
        self.db.execute(
            "DELETE FROM idempotence_keys WHERE account_id = ? AND idem_key = ?", [account_id, key]
        )
        self.db.execute(
            "INSERT INTO idempotence_keys (account_id, idem_key, created_at, result)"
            " VALUES (?, ?, ?, ?)",
            [account_id, key, now, json.dumps(result)],
        )

    def purge(self, now: float) -> int:
        return self.db.execute(
            "DELETE FROM idempotence_keys WHERE created_at <= ?", [now - self.lifetime]
        ).rowcount
