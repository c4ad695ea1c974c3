"""The console's CDR queries: an account's CDRs in a date range filtered by number and
dial status (newest first), and their counts per hour and per day for its charts.

Every query is a range scan of the (account_id, call_date) index; the filters apply to
the rows of that range only. A number matches any of the CDR's numbers (agent,
customer, dialed, caller id) as a substring, without LIKE's wildcards: SQLite's
``instr``, PostgreSQL's ``strpos`` (neither engine has the other's; the portable
``replace(column, number, '') <> column`` costs three times the CPU on SQLite).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .cdrs import _SELECT, Cdr, _row
from .engine import Database, Dialect

MAX_ROWS = 500


@dataclass(slots=True, frozen=True)
class CdrFilter:
    start: float  # unix time, inclusive
    end: float  # exclusive
    number: str = ""  # "" = any
    dial_status: str = ""  # ANSWER, BUSY, ...; "" = any


class CdrSearch:
    def __init__(self, db: Database) -> None:
        self.db = db
        position = "instr" if db.dialect is Dialect.SQLITE else "strpos"
        self._number = " OR ".join(
            f"{position}({column}, ?) > 0"
            for column in ("agent_number", "customer_number", "dialed_number", "caller_id")
        )

    def _where(self, account_id: str, f: CdrFilter) -> tuple[str, list[Any]]:
        clause = "account_id = ? AND call_date >= ? AND call_date < ?"
        args: list[Any] = [account_id, f.start, f.end]
        if f.dial_status:
            clause += " AND dial_status = ?"
            args.append(f.dial_status)
        if f.number:
            clause += f" AND ({self._number})"
            args += [f.number] * 4
        return clause, args

    def find(self, account_id: str, f: CdrFilter, limit: int = MAX_ROWS) -> list[Cdr]:
        """The newest ``limit`` CDRs the filter selects, newest first."""
        clause, args = self._where(account_id, f)
        rows = self.db.execute(
            f"{_SELECT} FROM cdrs WHERE {clause} ORDER BY call_date DESC, id DESC LIMIT ?",
            [*args, min(limit, MAX_ROWS)],
        )
        return [_row(r) for r in rows]

    def per_period(
        self, account_id: str, f: CdrFilter, seconds: int
    ) -> list[tuple[float, int, int]]:
        """(period start, calls, answered) of each ``seconds``-long period (from the epoch,
        so hours and UTC days) that had calls, oldest first."""
        clause, args = self._where(account_id, f)
        rows = self.db.execute(
            f"SELECT CAST(FLOOR(call_date / ?) AS INTEGER) AS slot, COUNT(*),"
            f" COUNT(CASE WHEN dial_status = 'ANSWER' THEN 1 END) FROM cdrs WHERE {clause}"
            " GROUP BY slot ORDER BY slot",
            [seconds, *args],
        )
        return [
            (float(slot * seconds), int(calls), int(answered)) for slot, calls, answered in rows
        ]

    def get(self, account_id: str, cdr_id: int) -> Cdr | None:
        row = self.db.execute(
            f"{_SELECT} FROM cdrs WHERE id = ? AND account_id = ?", [cdr_id, account_id]
        ).fetchone()
        return _row(row) if row else None
