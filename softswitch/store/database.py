"""The store's entry point and the switch core's tables (meta, extensions, bindings).

`Store` opens the database (SQLite file or PostgreSQL url, see `engine`), applies the
pending migrations and hands `store.db` to every repository of the package.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from .engine import Database, connect
from .migrations import migrate
from .sqlite_engine import SqliteDatabase


def transaction(db: Database) -> AbstractContextManager[None]:
    """One serialized write transaction (see `Database.transaction`): a check-then-insert
    inside it cannot race another writer; nested calls join the outer one."""
    return db.transaction()


@dataclass(slots=True)
class Extension:
    number: str
    ha1_md5: str
    ha1_sha256: str
    source: str  # "config" | "generated"


@dataclass(slots=True)
class Binding:
    aor: str
    contact: str  # the Contact URI as registered
    expires_at: float
    call_id: str
    cseq: int
    transport: str  # how the REGISTER reached us: where calls go back
    source_host: str
    source_port: int
    user_agent: str = ""

    def expires_in(self, now: float) -> int:
        return max(0, int(round(self.expires_at - now)))


class Store:
    """``target``: a store url (``sqlite:///...``, ``postgresql://...``), a SQLite file's
    path (or ":memory:"), or a `Database` already open."""

    def __init__(self, target: str | Path | Database, *, pool_size: int = 10) -> None:
        if isinstance(target, Database):
            self.db = target
        elif "://" in str(target):
            self.db = connect(str(target), pool_size=pool_size)
        else:
            self.db = SqliteDatabase(target)
        migrate(self.db)

    def close(self) -> None:
        self.db.close()

    # -- meta ---------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        )

    # -- extensions ---------------------------------------------------------

    def put_extension(self, ext: Extension) -> None:
        self.db.execute(
            "INSERT INTO extensions (number, ha1_md5, ha1_sha256, source) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (number) DO UPDATE SET ha1_md5 = excluded.ha1_md5,"
            " ha1_sha256 = excluded.ha1_sha256, source = excluded.source",
            [ext.number, ext.ha1_md5, ext.ha1_sha256, ext.source],
        )

    def extension(self, number: str) -> Extension | None:
        row = self.db.execute(
            "SELECT number, ha1_md5, ha1_sha256, source FROM extensions WHERE number = ?", [number]
        ).fetchone()
        return Extension(*row) if row else None

    def extensions(self) -> list[Extension]:
        rows = self.db.execute(
            "SELECT number, ha1_md5, ha1_sha256, source FROM extensions ORDER BY number"
        )
        return [Extension(*row) for row in rows]

    def delete_extensions_except(self, numbers: list[str], source: str) -> None:
        marks = ",".join("?" for _ in numbers) or "''"
        self.db.execute(
            f"DELETE FROM extensions WHERE source = ? AND number NOT IN ({marks})",
            [source, *numbers],
        )

    # -- registrations ------------------------------------------------------

    def bindings(self, aor: str, now: float | None = None) -> list[Binding]:
        now = time.time() if now is None else now
        rows = self.db.execute(
            "SELECT aor, contact, expires_at, call_id, cseq, transport, source_host,"
            " source_port, user_agent FROM bindings WHERE aor = ? AND expires_at > ?"
            " ORDER BY expires_at DESC",
            [aor, now],
        )
        return [Binding(*row) for row in rows]

    def live_bindings(self, now: float | None = None) -> list[Binding]:
        """Every unexpired binding of every AOR (the NAT keepalive's round)."""
        now = time.time() if now is None else now
        rows = self.db.execute(
            "SELECT aor, contact, expires_at, call_id, cseq, transport, source_host,"
            " source_port, user_agent FROM bindings WHERE expires_at > ?",
            [now],
        )
        return [Binding(*row) for row in rows]

    def binding_counts(self, now: float | None = None) -> dict[str, int]:
        """How many unexpired bindings there are per transport (the metrics' gauge)."""
        now = time.time() if now is None else now
        rows = self.db.execute(
            "SELECT transport, COUNT(*) FROM bindings WHERE expires_at > ? GROUP BY transport",
            [now],
        )
        return {str(transport): int(count) for transport, count in rows}

    def put_binding(self, binding: Binding) -> None:
        self.db.execute(
            "INSERT INTO bindings (aor, contact, expires_at, call_id, cseq, transport,"
            " source_host, source_port, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (aor, contact) DO UPDATE SET expires_at = excluded.expires_at,"
            " call_id = excluded.call_id, cseq = excluded.cseq, transport = excluded.transport,"
            " source_host = excluded.source_host, source_port = excluded.source_port,"
            " user_agent = excluded.user_agent",
            [
                binding.aor,
                binding.contact,
                binding.expires_at,
                binding.call_id,
                binding.cseq,
                binding.transport,
                binding.source_host,
                binding.source_port,
                binding.user_agent,
            ],
        )

    def delete_binding(self, aor: str, contact: str) -> None:
        self.db.execute("DELETE FROM bindings WHERE aor = ? AND contact = ?", [aor, contact])

    def delete_bindings(self, aor: str) -> None:
        self.db.execute("DELETE FROM bindings WHERE aor = ?", [aor])

    def purge_expired_bindings(self, now: float | None = None) -> int:
        now = time.time() if now is None else now
        return self.db.execute("DELETE FROM bindings WHERE expires_at <= ?", [now]).rowcount
