"""0007: the nodes of a cluster that are up (issue 14): `cluster_nodes`, a row per node
with its API address and when it last said it was up (store/cluster_nodes.py), so that
a listing of live calls can ask every node, including one holding no controllable call.
"""

from __future__ import annotations

from ..engine import Database

TABLE = """CREATE TABLE IF NOT EXISTS cluster_nodes (
    node_id TEXT NOT NULL PRIMARY KEY,
    node_url TEXT NOT NULL,
    seen_at REAL NOT NULL
)"""


def up(db: Database) -> None:
    db.execute_ddl(TABLE)
