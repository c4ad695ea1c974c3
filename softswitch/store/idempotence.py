"""Idempotence keys of the Calls API: per account, valid 24 hours from first use."""

from __future__ import annotations

import json
from typing import Any

from .engine import Database

KEY_LIFETIME = 24 * 3600.0


class IdempotenceStore:
    def __init__(self, db: Database, lifetime: float = KEY_LIFETIME) -> None:
        self.db = db
        self.lifetime = lifetime

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
