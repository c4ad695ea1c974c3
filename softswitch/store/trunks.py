"""The trunks, kept as their settings' JSON (softswitch.config.TrunkConfig): the store is
the source of truth, seeded from ``[[trunks]]`` (`source` "config") and changed through
the admin API (`source` "api"). The password is kept as given: the switch must send it
to the carrier."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from .database import transaction
from .engine import Database


@dataclass(slots=True)
class TrunkRow:
    name: str
    data: dict[str, Any]
    source: str  # "config" | "api"


class TrunkStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def all(self) -> list[TrunkRow]:
        rows = self.db.execute("SELECT name, data, source FROM trunks ORDER BY name")
        return [TrunkRow(name, json.loads(data), source) for name, data, source in rows]

    def get(self, name: str) -> TrunkRow | None:
        row = self.db.execute(
            "SELECT name, data, source FROM trunks WHERE name = ?", [name]
        ).fetchone()
        return TrunkRow(row[0], json.loads(row[1]), row[2]) if row else None

    def create(self, name: str, data: dict[str, Any], source: str) -> bool:
        """False if the name is taken (nothing written)."""
        with transaction(self.db):
            if self.db.execute("SELECT 1 FROM trunks WHERE name = ?", [name]).fetchone():
                return False
            self.db.execute(
                "INSERT INTO trunks (name, data, source, updated_at) VALUES (?, ?, ?, ?)",
                [name, json.dumps(data), source, time.time()],
            )
        return True

    def update(self, name: str, data: dict[str, Any]) -> bool:
        cursor = self.db.execute(
            "UPDATE trunks SET data = ?, updated_at = ? WHERE name = ?",
            [json.dumps(data), time.time(), name],
        )
        return bool(cursor.rowcount)

    def delete(self, name: str) -> bool:
        return bool(self.db.execute("DELETE FROM trunks WHERE name = ?", [name]).rowcount)
