"""Call detail records: one row per call, written when the call has ended.

Queries are per account. Indexes lead with ``account_id`` so an account's date range,
request id or campaign is a range scan however many rows the others have; paging looks
up the page's ids on the covering (account_id, call_date) index first and reads only
those rows; a page that follows one served before continues from that page's last row
(keyset), so walking through a large range costs the same at any depth. Per-status
counts are kept in ``cdr_counts`` as CDRs are written, so the statistics endpoints do not
scan the table.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields

from .database import transaction
from .engine import Database


@dataclass(slots=True)
class Cdr:
    account_id: str
    request_id: str
    call_direction: str  # outbound-api | outbound-campaign | inbound
    destination_context: str  # click2call | otp | local_call | local_call_campaign_type_0|1
    caller_id: str
    agent_number: str
    customer_number: str
    dialed_number: str
    call_date: float  # unix time the call started
    answer: float | None
    end: float | None
    call_duration: float | None
    billsec: float | None
    call_status: str | None  # ANSWERED | NO ANSWER | BUSY | FAILED | CONGESTION
    dial_status: str  # ANSWER | BUSY | NOANSWER | CANCEL | CHANUNAVAIL | CONGESTION | DND
    dtmf_inputs: str = ""
    recording_name: str = ""
    transcript: str = ""
    uniqueid: str = ""
    campaign_id: str = ""
    list_id: str = ""
    is_dnd: bool = False
    # why the call ended, as its first leg to hang up said it ("rtp timeout", "busy", ...);
    # kept for operators, not part of the CPaaS CDR JSON
    hangup_cause: str = ""
    # transfers a phone made in the call (REFER), in order: "102 transferred 101 to 103";
    # for operators like hangup_cause
    transfers: str = ""
    id: int | None = None


_NAMES = [f.name for f in fields(Cdr)]
_COLUMNS = ", ".join(_NAMES)
_INSERT_COLUMNS = ", ".join(_NAMES[:-1])
_MARKS = ", ".join("?" for _ in _NAMES[:-1])
# "end" is a reserved word in SQL: quote it everywhere
_SELECT = "SELECT " + _COLUMNS.replace("end,", '"end",')
_INSERT = f"INSERT INTO cdrs ({_INSERT_COLUMNS.replace('end,', chr(34) + 'end' + chr(34) + ',')})"


# dial_status -> the statistics key the spec uses
STATISTICS_KEYS = {
    "ANSWER": "answer_calls",
    "BUSY": "busy_calls",
    "CANCEL": "cancel_calls",
    "CHANUNAVAIL": "chanunavail_calls",
    "CONGESTION": "congestion_calls",
    "NOANSWER": "noanswer_calls",
    "DND": "dnd_calls",
}


def _row(row: tuple) -> Cdr:
    cdr = Cdr(*row)
    cdr.is_dnd = bool(cdr.is_dnd)
    return cdr


# get_cdr_by_date paging: where each page served ended, so the next page starts there
MAX_PAGE_MARKS = 4096
MAX_NEW_ROWS = 1000  # more CDRs written since a mark: recount instead of checking them


class CdrStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        # (account, start, end, offset) -> (newest id then, call_date, id) of the row
        # before ``offset``; insertion-ordered, oldest dropped first
        self._marks: dict[tuple[str, float, float, int], tuple[int, float, int]] = {}

    def insert(self, cdr: Cdr) -> int:
        values = list(astuple(cdr))[:-1]
        values[_NAMES.index("is_dnd")] = int(cdr.is_dnd)
        # the row and its count land together or not at all
        with transaction(self.db):
            cdr_id = self.db.execute(f"{_INSERT} VALUES ({_MARKS}) RETURNING id", values).scalar()
            self._count(cdr.account_id, cdr.campaign_id, cdr.dial_status, 1)
        cdr.id = int(cdr_id)
        return cdr.id

    def insert_many(self, cdrs: list[Cdr]) -> None:
        """Bulk load (benchmarks, imports): one transaction for all rows."""
        dnd = _NAMES.index("is_dnd")
        counts: dict[tuple[str, str, str], int] = {}
        rows = []
        for cdr in cdrs:
            values = list(astuple(cdr))[:-1]
            values[dnd] = int(cdr.is_dnd)
            rows.append(values)
            key = (cdr.account_id, cdr.campaign_id, cdr.dial_status)
            counts[key] = counts.get(key, 0) + 1
        with transaction(self.db):
            self.db.executemany(f"{_INSERT} VALUES ({_MARKS})", rows)
            for (account_id, campaign_id, status), n in counts.items():
                self._count(account_id, campaign_id, status, n)

    def _count(self, account_id: str, campaign_id: str, status: str, n: int) -> None:
        self.db.execute(
            "INSERT INTO cdr_counts (account_id, campaign_id, dial_status, calls)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (account_id, campaign_id, dial_status)"
            " DO UPDATE SET calls = cdr_counts.calls + excluded.calls",
            [account_id, campaign_id, status, n],
        )

    def set_transcript(self, cdr_id: int, text: str) -> None:
        self.db.execute("UPDATE cdrs SET transcript = ? WHERE id = ?", [text, cdr_id])

    def get(self, cdr_id: int) -> Cdr | None:
        row = self.db.execute(f"{_SELECT} FROM cdrs WHERE id = ?", [cdr_id]).fetchone()
        return _row(row) if row else None

    def by_request_id(self, account_id: str, request_id: str) -> list[Cdr]:
        rows = self.db.execute(
            f"{_SELECT} FROM cdrs WHERE account_id = ? AND request_id = ? ORDER BY id",
            [account_id, request_id],
        )
        return [_row(r) for r in rows]

    def by_campaign(
        self, account_id: str, campaign_id: str, limit: int = 100_000, offset: int = 0
    ) -> list[Cdr]:
        rows = self.db.execute(
            f"{_SELECT} FROM cdrs WHERE account_id = ? AND campaign_id = ?"
            " ORDER BY id LIMIT ? OFFSET ?",
            [account_id, campaign_id, limit, offset],
        )
        return [_row(r) for r in rows]

    def by_date(
        self, account_id: str, start: float, end: float, limit: int = 1000, offset: int = 0
    ) -> list[Cdr]:
        """CDRs with start <= call_date < end, oldest first, ``limit`` from ``offset``."""
        key = (account_id, start, end, offset)
        mark = self._marks.get(key) if offset else None
        if mark is not None and self._still_valid(account_id, start, mark):
            # Sequential paging: continue after the previous page's last row instead of
            # counting ``offset`` index entries again.
            _, mark_date, mark_id = mark
            ids = self.db.execute(
                "SELECT id FROM cdrs WHERE account_id = ? AND call_date >= ? AND call_date < ?"
                " AND (call_date > ? OR id > ?) ORDER BY call_date, id LIMIT ?",
                [account_id, mark_date, end, mark_date, mark_id, limit],
            )
        else:
            # On the covering index alone (the rowid is part of it): skipping ``offset``
            # entries never touches the table.
            ids = self.db.execute(
                "SELECT id FROM cdrs WHERE account_id = ? AND call_date >= ? AND call_date < ?"
                " ORDER BY call_date, id LIMIT ? OFFSET ?",
                [account_id, start, end, limit, offset],
            )
        wanted = [row[0] for row in ids]
        if not wanted:
            return []
        marks = ",".join("?" for _ in wanted)
        rows = [
            _row(r)
            for r in self.db.execute(
                f"{_SELECT} FROM cdrs WHERE id IN ({marks}) ORDER BY call_date, id", wanted
            )
        ]
        last = rows[-1]
        newest = self.db.execute("SELECT MAX(id) FROM cdrs").fetchone()[0]
        self._marks[(account_id, start, end, offset + len(rows))] = (
            newest,
            last.call_date,
            int(last.id or 0),
        )
        while len(self._marks) > MAX_PAGE_MARKS:
            self._marks.pop(next(iter(self._marks)))
        return rows

    def between(
        self, start: float, end: float, limit: int = 100, account_id: str | None = None
    ) -> list[Cdr]:
        """CDRs of every account (or one) with start <= call_date < end, oldest first,
        at most ``limit``: the operator's view (`softswitch cdr`), on index seeks."""
        if account_id is not None:
            rows = self.db.execute(
                f"{_SELECT} FROM cdrs WHERE account_id = ? AND call_date >= ? AND call_date < ?"
                " ORDER BY call_date, id LIMIT ?",
                [account_id, start, end, limit],
            )
        else:
            rows = self.db.execute(
                f"{_SELECT} FROM cdrs WHERE call_date >= ? AND call_date < ?"
                " ORDER BY call_date, id LIMIT ?",
                [start, end, limit],
            )
        return [_row(r) for r in rows]

    def _still_valid(self, account_id: str, start: float, mark: tuple[int, float, int]) -> bool:
        """True when no CDR written since the mark was taken sorts before it: then the
        row after the mark is exactly the row at the offset. CDR ids only grow (rows are
        never deleted), so the rows written since are those above the mark's newest id."""
        newest, mark_date, mark_id = mark
        since = self.db.execute(
            "SELECT account_id, call_date, id FROM cdrs WHERE id > ? ORDER BY id LIMIT ?",
            [newest, MAX_NEW_ROWS + 1],
        ).fetchall()
        if len(since) > MAX_NEW_ROWS:
            return False
        return not any(
            acc == account_id and start <= date and (date, cid) < (mark_date, mark_id)
            for acc, date, cid in since
        )

    def has_recording(self, account_id: str, name: str) -> bool:
        return (
            self.db.execute(
                "SELECT 1 FROM cdrs WHERE account_id = ? AND recording_name = ? LIMIT 1",
                [account_id, name],
            ).fetchone()
            is not None
        )

    def statistics(self, account_id: str, campaign_id: str | None = None) -> dict[str, int]:
        """Calls per dial status (spec keys), plus ``total_calls``; all campaigns when None."""
        if campaign_id is None:
            rows = self.db.execute(
                "SELECT dial_status, SUM(calls) FROM cdr_counts"
                " WHERE account_id = ? GROUP BY dial_status",
                [account_id],
            )
        else:
            rows = self.db.execute(
                "SELECT dial_status, calls FROM cdr_counts"
                " WHERE account_id = ? AND campaign_id = ?",
                [account_id, campaign_id],
            )
        counts = {key: 0 for key in STATISTICS_KEYS.values()}
        total = 0
        for status, calls in rows:
            total += calls
            key = STATISTICS_KEYS.get(status)
            if key is not None:
                counts[key] += calls
        counts["total_calls"] = total
        return counts
