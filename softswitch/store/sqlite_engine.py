"""The SQLite engine: one connection in autocommit mode, WAL journal, BEGIN IMMEDIATE
transactions (the write lock taken up front, so a check-then-insert cannot race another
writer, process or connection)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .engine import Database, Dialect, IntegrityError, Params, Result, UniqueViolation


def _integrity(exc: sqlite3.IntegrityError) -> IntegrityError:
    text = str(exc)
    if text.startswith("UNIQUE constraint failed"):
        return UniqueViolation(text)
    return IntegrityError(text)


class SqliteDatabase(Database):
    dialect = Dialect.SQLITE

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        memory = self.path == ":memory:"
        if not memory:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        if not memory:
            self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")

    def execute(self, sql: str, params: Params = ()) -> Result:
        try:
            cursor = self.conn.execute(sql, params)
            rows = cursor.fetchall()
        except sqlite3.IntegrityError as exc:
            raise _integrity(exc) from exc
        return Result(rows, cursor.rowcount)

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        try:
            self.conn.executemany(sql, rows)
        except sqlite3.IntegrityError as exc:
            raise _integrity(exc) from exc

    @contextmanager
    def transaction(self, serialized: bool = True) -> Iterator[None]:
        conn = self.conn
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

    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    def execute_ddl(self, sql: str) -> None:
        self.conn.execute(sql)

    def tables(self) -> set[str]:
        rows = self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {row[0] for row in rows}

    def columns(self, table: str) -> list[str]:
        return [row[1] for row in self.conn.execute(f'PRAGMA table_info("{table}")')]

    def close(self) -> None:
        self.conn.close()
