"""Inbound numbers and ring groups, each kept as its validated JSON (softswitch.numbers,
softswitch.ringgroups). `source` says who made a row: "config" rows are replaced by the
config at every start, "api" rows stay."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from .engine import Database


@dataclass(slots=True)
class Row:
    key: str  # the number's digits, or the ring group's id
    account_id: str
    data: dict[str, Any]
    source: str


class NumberStore:
    """Both tables; numbers are unique machine-wide (a DID reaches one account), ring
    group ids per account."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- numbers --------------------------------------------------------------

    def number(self, number: str) -> Row | None:
        row = self.db.execute(
            "SELECT number, account_id, data, source FROM inbound_numbers WHERE number = ?",
            [number],
        ).fetchone()
        return Row(row[0], row[1], json.loads(row[2]), row[3]) if row else None

    def numbers(self, account_id: str | None = None) -> list[Row]:
        sql = "SELECT number, account_id, data, source FROM inbound_numbers"
        args: list[str] = []
        if account_id is not None:
            sql += " WHERE account_id = ?"
            args.append(account_id)
        rows = self.db.execute(sql + " ORDER BY number", args).fetchall()
        return [Row(r[0], r[1], json.loads(r[2]), r[3]) for r in rows]

    def put_number(self, number: str, account_id: str, data: dict[str, Any], source: str) -> None:
        self.db.execute(
            "INSERT INTO inbound_numbers (number, account_id, data, source, updated_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (number) DO UPDATE SET"
            " account_id = excluded.account_id, data = excluded.data, source = excluded.source,"
            " updated_at = excluded.updated_at",
            [number, account_id, json.dumps(data), source, time.time()],
        )

    def delete_number(self, number: str) -> None:
        self.db.execute("DELETE FROM inbound_numbers WHERE number = ?", [number])

    # -- ring groups ----------------------------------------------------------

    def ring_group(self, account_id: str, group_id: str) -> Row | None:
        row = self.db.execute(
            "SELECT id, account_id, data, source FROM ring_groups WHERE account_id = ? AND id = ?",
            [account_id, group_id],
        ).fetchone()
        return Row(row[0], row[1], json.loads(row[2]), row[3]) if row else None

    def ring_groups(self, account_id: str | None = None) -> list[Row]:
        sql = "SELECT id, account_id, data, source FROM ring_groups"
        args: list[str] = []
        if account_id is not None:
            sql += " WHERE account_id = ?"
            args.append(account_id)
        rows = self.db.execute(sql + " ORDER BY account_id, id", args).fetchall()
        return [Row(r[0], r[1], json.loads(r[2]), r[3]) for r in rows]

    def put_ring_group(
        self, account_id: str, group_id: str, data: dict[str, Any], source: str
    ) -> None:
        self.db.execute(
            "INSERT INTO ring_groups (account_id, id, data, source, updated_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id, id) DO UPDATE SET"
            " data = excluded.data, source = excluded.source, updated_at = excluded.updated_at",
            [account_id, group_id, json.dumps(data), source, time.time()],
        )

    def delete_ring_group(self, account_id: str, group_id: str) -> None:
        self.db.execute(
            "DELETE FROM ring_groups WHERE account_id = ? AND id = ?", [account_id, group_id]
        )

    def forget_config_rows(self) -> None:
        """Drop what the config seeded last time (it is seeded again from the config)."""
        self.db.execute("DELETE FROM inbound_numbers WHERE source = 'config'")
        self.db.execute("DELETE FROM ring_groups WHERE source = 'config'")
