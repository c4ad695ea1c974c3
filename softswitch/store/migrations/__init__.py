"""Numbered schema migrations, applied in order at start-up (``Store()``) on either engine.

Each migration is a module ``mNNNN_<what>.py`` with ``up(db)``: DDL through
``db.execute_ddl`` in SQLite's spelling (the PostgreSQL engine maps the types), data
through ``db.execute`` with portable SQL. To add one, write the next module and append
it to ``MIGRATIONS``; never edit one that has shipped (a store that ran it will not run
it again). ``schema_migrations`` records which versions a database has.

All pending migrations run in one serialized transaction: on PostgreSQL it first takes
the store's advisory lock, so two nodes starting together on one database do not race
(the second waits, then finds nothing left to do); on SQLite it is BEGIN IMMEDIATE.
PostgreSQL and SQLite both roll DDL back with the transaction, so a failed migration
leaves the schema as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ..engine import Database
from . import (
    m0001_initial,
    m0002_cluster_leases,
    m0003_answered_by,
    m0004_cluster_nodes,
    m0005_runtime_admin,
    m0006_speech_inputs,
    m0007_cluster_heartbeats,
)


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    up: Callable[[Database], None]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial", m0001_initial.up),
    Migration(2, "cluster_leases", m0002_cluster_leases.up),
    Migration(3, "answered_by", m0003_answered_by.up),
    Migration(4, "cluster_nodes", m0004_cluster_nodes.up),
    Migration(5, "runtime_admin", m0005_runtime_admin.up),
    Migration(6, "speech_inputs", m0006_speech_inputs.up),
    Migration(7, "cluster_heartbeats", m0007_cluster_heartbeats.up),
)

_TABLE = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at REAL NOT NULL
)"""


def migrate(db: Database, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Apply the migrations the database has not had yet; returns their versions."""
    applied: list[int] = []
    with db.transaction():
        db.execute_ddl(_TABLE)
        done = {row[0] for row in db.execute("SELECT version FROM schema_migrations")}
        for migration in sorted(migrations, key=lambda m: m.version):
            if migration.version in done:
                continue
            migration.up(db)
            db.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                [migration.version, migration.name, time.time()],
            )
            applied.append(migration.version)
    return applied


def current_version(db: Database) -> int:
    """The newest migration applied (0 for a database that never had one)."""
    if "schema_migrations" not in db.tables():
        return 0
    return int(db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").scalar())
