"""The connection and the switch core's tables (meta, extensions, bindings).

Keep the SQL portable: a PostgreSQL backend is to take this module's place when one
machine is not enough (see ARCHITECTURE.md, scale-out path).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils
from sqlite_utils.db import Table


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[None]:
    """One write transaction; BEGIN IMMEDIATE takes the write lock up front, so a
    check-then-insert inside it cannot race another writer (process or connection)."""
    conn = db.conn
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


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
    def __init__(self, path: str | Path) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db = sqlite_utils.Database(conn)
        if str(path) != ":memory:":
            self.db.enable_wal()
        self.db.execute("PRAGMA synchronous=NORMAL")
        self._create_schema()

    def _table(self, name: str) -> Table:
        table = self.db.table(name)
        assert isinstance(table, Table)  # the store makes no views
        return table

    def close(self) -> None:
        self.db.conn.close()

    def _create_schema(self) -> None:
        db = self.db
        if "meta" not in db.table_names():
            self._table("meta").create({"key": str, "value": str}, pk="key")
        if "extensions" not in db.table_names():
            self._table("extensions").create(
                {"number": str, "ha1_md5": str, "ha1_sha256": str, "source": str}, pk="number"
            )
        if "bindings" not in db.table_names():
            self._table("bindings").create(
                {
                    "aor": str,
                    "contact": str,
                    "expires_at": float,
                    "call_id": str,
                    "cseq": int,
                    "transport": str,
                    "source_host": str,
                    "source_port": int,
                    "user_agent": str,
                },
                pk=("aor", "contact"),
            )

    # -- meta ---------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._table("meta").upsert({"key": key, "value": value}, pk="key")

    # -- extensions ---------------------------------------------------------

    def put_extension(self, ext: Extension) -> None:
        self._table("extensions").upsert(
            {
                "number": ext.number,
                "ha1_md5": ext.ha1_md5,
                "ha1_sha256": ext.ha1_sha256,
                "source": ext.source,
            },
            pk="number",
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
        self._table("bindings").upsert(
            {
                "aor": binding.aor,
                "contact": binding.contact,
                "expires_at": binding.expires_at,
                "call_id": binding.call_id,
                "cseq": binding.cseq,
                "transport": binding.transport,
                "source_host": binding.source_host,
                "source_port": binding.source_port,
                "user_agent": binding.user_agent,
            },
            pk=("aor", "contact"),
        )

    def delete_binding(self, aor: str, contact: str) -> None:
        self.db.execute("DELETE FROM bindings WHERE aor = ? AND contact = ?", [aor, contact])

    def delete_bindings(self, aor: str) -> None:
        self.db.execute("DELETE FROM bindings WHERE aor = ?", [aor])

    def purge_expired_bindings(self, now: float | None = None) -> int:
        now = time.time() if now is None else now
        cursor = self.db.execute("DELETE FROM bindings WHERE expires_at <= ?", [now])
        return cursor.rowcount
