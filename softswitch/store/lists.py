"""Campaign contact lists (LS...) and DND lists (DN...) of the CPaaS campaign manager."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from .engine import Database


class ListKind(StrEnum):
    CONTACTS = "contacts"
    DND = "dnd"


@dataclass(slots=True)
class ContactList:
    id: str
    account_id: str
    name: str
    kind: ListKind
    created_at: float


@dataclass(slots=True)
class Contact:
    name: str
    number: str
    fields: dict[str, str] = field(default_factory=dict)


class DuplicateListName(ValueError):
    pass


class ListStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, account_id: str, name: str, kind: ListKind, now: float) -> ContactList:
        prefix = "DN" if kind == ListKind.DND else "LS"
        if self.db.execute(
            "SELECT 1 FROM contact_lists WHERE account_id = ? AND kind = ? AND name = ?",
            [account_id, kind.value, name],
        ).fetchone():
            raise DuplicateListName(name)
        item = ContactList(prefix + secrets.token_hex(5), account_id, name, kind, now)
        self.db.execute(
            "INSERT INTO contact_lists (id, account_id, name, kind, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [item.id, account_id, name, kind.value, now],
        )
        return item

    def get(self, list_id: str, account_id: str, kind: ListKind) -> ContactList | None:
        row = self.db.execute(
            "SELECT id, account_id, name, kind, created_at FROM contact_lists"
            " WHERE id = ? AND account_id = ? AND kind = ?",
            [list_id, account_id, kind.value],
        ).fetchone()
        if row is None:
            return None
        list_id, account_id, name, kind_value, created_at = row
        return ContactList(list_id, account_id, name, ListKind(kind_value), created_at)

    def add(self, list_id: str, contacts: Sequence[Contact]) -> int:
        self.db.executemany(
            "INSERT INTO contacts (list_id, name, number, fields) VALUES (?, ?, ?, ?)",
            [(list_id, c.name, c.number, json.dumps(c.fields)) for c in contacts],
        )
        return len(contacts)

    def contacts(self, list_id: str) -> list[Contact]:
        rows = self.db.execute(
            "SELECT name, number, fields FROM contacts WHERE list_id = ? ORDER BY id", [list_id]
        )
        return [Contact(name, number, json.loads(fields)) for name, number, fields in rows]

    def count(self, list_id: str) -> int:
        return int(
            self.db.execute(
                "SELECT COUNT(*) FROM contacts WHERE list_id = ?", [list_id]
            ).fetchone()[0]
        )

    def contains(self, list_id: str, number: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM contacts WHERE list_id = ? AND number = ? LIMIT 1", [list_id, number]
        ).fetchone()
        return row is not None

    def numbers_in(self, list_id: str, numbers: Iterable[str]) -> set[str]:
        wanted = list(dict.fromkeys(numbers))
        found: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT number FROM contacts WHERE list_id = ? AND number IN ({marks})",
                [list_id, *chunk],
            )
            found.update(row[0] for row in rows)
        return found
