"""The store's database engine: one small interface over SQLite and PostgreSQL.

Every SQL statement of the store is written once, with ``?`` placeholders and portable
syntax (``INSERT ... ON CONFLICT``, ``RETURNING``); the PostgreSQL engine rewrites the
placeholders for psycopg. DDL is written in SQLite's spelling (``INTEGER PRIMARY KEY``,
``REAL``) and :meth:`Database.execute_ddl` maps the types for the engine.

Calls are synchronous on purpose: the store is called from the event loop, and a
statement on a local SQLite file or a PostgreSQL server on the LAN is a fraction of a
millisecond; making every repository async would touch every caller for no gain. Keep
statements short (index seeks, small pages) so none holds the loop.

``connect(url)`` opens ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``,
``sqlite:///:memory:`` or ``postgresql://user:password@host:port/database``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from enum import StrEnum
from typing import Any

Params = Sequence[Any]


class Dialect(StrEnum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


class StoreError(Exception):
    """The database refused or could not be reached (engine-neutral)."""


class IntegrityError(StoreError):
    """A constraint refused a write (NOT NULL, CHECK, foreign key, unique)."""


class UniqueViolation(IntegrityError):
    """A unique or primary key constraint refused a write: the row exists."""


class Result:
    """A statement's rows (all fetched: the connection is free again) and rowcount."""

    __slots__ = ("rows", "rowcount")

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int) -> None:
        self.rows = rows
        self.rowcount = rowcount

    def fetchone(self) -> Any:
        """The first row or None; typed Any like sqlite3's, as callers index rows that
        their query cannot miss (COUNT, MAX, RETURNING)."""
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.rows

    def scalar(self) -> Any:
        """The first column of the first row, None when there is no row."""
        return self.rows[0][0] if self.rows else None

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.rows)


class Database(ABC):
    """One database, shared by every repository of the store.

    ``transaction()`` is one write transaction; a ``transaction()`` opened inside it (in
    the same task) joins it. By default it is *serialized* like SQLite's BEGIN IMMEDIATE:
    one such transaction at a time on the whole database (every node of a cluster), so a
    check-then-insert inside it cannot race another writer. Code that handles
    concurrency itself (row locks, ``FOR UPDATE SKIP LOCKED``) asks for
    ``transaction(serialized=False)``: on PostgreSQL a plain READ COMMITTED transaction;
    on SQLite the same single-writer transaction (it has no other kind).

    On PostgreSQL a statement refused inside a transaction aborts the whole transaction:
    catch IntegrityError outside ``transaction()``, not around a statement inside it.
    """

    dialect: Dialect

    @abstractmethod
    def execute(self, sql: str, params: Params = ()) -> Result:
        """Run one statement with ``?`` placeholders; raises IntegrityError on a
        constraint violation."""

    @abstractmethod
    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """Run one statement for each parameter row (bulk insert)."""

    @abstractmethod
    def transaction(self, serialized: bool = True) -> AbstractContextManager[None]:
        """One transaction: committed when the block ends, rolled back if it raises."""

    @abstractmethod
    def in_transaction(self) -> bool:
        """True inside ``transaction()`` (in this task)."""

    @abstractmethod
    def execute_ddl(self, sql: str) -> None:
        """Run a schema statement written in SQLite's spelling, types mapped for the engine."""

    @abstractmethod
    def tables(self) -> set[str]:
        """The names of the tables."""

    @abstractmethod
    def columns(self, table: str) -> list[str]:
        """The table's column names, in order; [] when there is no such table."""

    @abstractmethod
    def close(self) -> None: ...


def connect(url: str, *, pool_size: int = 10) -> Database:
    """Open the database at ``url`` (see the module docstring for the forms)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise StoreError(f"store url {url!r}: expected sqlite:///path or postgresql://...")
    # each engine's module is imported when first used: a SQLite-only process (and every
    # CLI command on one) never pays for importing psycopg and its pool
    if scheme == "sqlite":
        if not rest.startswith("/"):
            raise StoreError(f"store url {url!r}: expected sqlite:///path (three slashes)")
        from .sqlite_engine import SqliteDatabase

        return SqliteDatabase(rest[1:])
    if scheme in ("postgresql", "postgres"):
        from .postgres_engine import PostgresDatabase

        return PostgresDatabase(url, pool_size=pool_size)
    raise StoreError(f"store url {url!r}: unknown engine {scheme!r} (sqlite or postgresql)")
