"""Stored call flows (FL...): per-account, named, kept as the validated JSON steps."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from .engine import Database


class DuplicateFlowName(ValueError):
    pass


@dataclass(slots=True)
class StoredFlow:
    id: str
    account_id: str
    name: str
    steps: list[dict[str, Any]]
    created_at: float
    updated_at: float


_COLUMNS = "id, account_id, name, steps, created_at, updated_at"


def _flow(row: tuple) -> StoredFlow:
    return StoredFlow(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5])


class FlowStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _name_taken(self, account_id: str, name: str, other_than: str = "") -> bool:
        return (
            self.db.execute(
                "SELECT 1 FROM flows WHERE account_id = ? AND name = ? AND id != ?",
                [account_id, name, other_than],
            ).fetchone()
            is not None
        )

    def create(
        self, account_id: str, name: str, steps: list[dict[str, Any]], now: float
    ) -> StoredFlow:
        if self._name_taken(account_id, name):
            raise DuplicateFlowName(name)
        item = StoredFlow("FL" + secrets.token_hex(5), account_id, name, steps, now, now)
        self.db.execute(
            f"INSERT INTO flows ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            [item.id, account_id, name, json.dumps(steps), now, now],
        )
        return item

    def update(
        self, account_id: str, flow_id: str, name: str, steps: list[dict[str, Any]], now: float
    ) -> StoredFlow | None:
        if self._name_taken(account_id, name, flow_id):
            raise DuplicateFlowName(name)
        cursor = self.db.execute(
            "UPDATE flows SET name = ?, steps = ?, updated_at = ? WHERE id = ? AND account_id = ?",
            [name, json.dumps(steps), now, flow_id, account_id],
        )
        return self.get(account_id, flow_id) if cursor.rowcount == 1 else None

    def get(self, account_id: str, flow_id: str) -> StoredFlow | None:
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM flows WHERE id = ? AND account_id = ?", [flow_id, account_id]
        ).fetchone()
        return _flow(row) if row else None

    def all(self, account_id: str) -> list[StoredFlow]:
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM flows WHERE account_id = ? ORDER BY created_at, id",
            [account_id],
        )
        return [_flow(row) for row in rows]

    def delete(self, account_id: str, flow_id: str) -> bool:
        return (
            self.db.execute(
                "DELETE FROM flows WHERE id = ? AND account_id = ?", [flow_id, account_id]
            ).rowcount
            == 1
        )
