"""0006: voice-bot listen steps (issue 16).

- `cdrs.speech_inputs`: the answers a flow's listen steps recognized, a JSON list
  ('' when the call asked none);
- `jobs.asr_seconds`: the audio the recognizer processed over a job's attempts, summed
  into the JAICP report's `usedAsrSeconds`.
"""

from __future__ import annotations

from ..engine import Database

COLUMNS = (
    ("cdrs", "speech_inputs", "TEXT NOT NULL DEFAULT ''"),
    ("jobs", "asr_seconds", "REAL NOT NULL DEFAULT 0"),
)


def up(db: Database) -> None:
    for table, column, declaration in COLUMNS:
        if column not in db.columns(table):
            db.execute_ddl(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
