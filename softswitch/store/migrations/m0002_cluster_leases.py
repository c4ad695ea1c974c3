"""0002: leases for N switch nodes on one store (issue 14, the dialer and callbacks).

- `job_leases`: which node dials each attempt in progress, until when (renewed while the
  call goes on); `campaign_pacing`: each campaign's next start slot and leases held,
  shared by the nodes (store/job_leases.py);
- `jobs_claim`: the claim's seek over queued jobs only, ending with `id` so that equal
  due times are walked in order without a sort;
- `callbacks.node`: the node that claimed a scheduled callback (store/callbacks.py);
- `webhook_lanes`: the node delivering each account's webhooks (store/webhook_lanes.py).
"""

from __future__ import annotations

from ..engine import Database

TABLES = (
    """CREATE TABLE IF NOT EXISTS job_leases (
        attempt_id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL,
        campaign_id TEXT NOT NULL,
        node TEXT NOT NULL,
        expires_at REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS campaign_pacing (
        campaign_id TEXT PRIMARY KEY,
        next_slot REAL NOT NULL,
        live INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE IF NOT EXISTS webhook_lanes (
        account_id TEXT PRIMARY KEY,
        node TEXT NOT NULL,
        expires_at REAL NOT NULL
    )""",
)

INDEXES = (
    "CREATE INDEX IF NOT EXISTS job_leases_campaign ON job_leases (campaign_id, expires_at)",
    "CREATE INDEX IF NOT EXISTS job_leases_job ON job_leases (job_id)",
    "CREATE INDEX IF NOT EXISTS jobs_claim ON jobs (campaign_id, priority, custom, next_at, id)"
    " WHERE queued = 1",
)


def up(db: Database) -> None:
    for statement in TABLES:
        db.execute_ddl(statement)
    if "node" not in db.columns("callbacks"):
        db.execute_ddl("ALTER TABLE callbacks ADD COLUMN node TEXT NOT NULL DEFAULT ''")
    for statement in INDEXES:
        db.execute_ddl(statement)
