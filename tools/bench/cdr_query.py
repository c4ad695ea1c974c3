"""CDR queries over a large table: get_cdr_by_date pages, by request id, statistics.

    .venv/bin/python tools/bench/cdr_query.py [--rows 1000000] [--accounts 4] [--db FILE]

Builds a throw-away SQLite store (WAL, as served) with ``--rows`` CDRs spread over a
year and several accounts, then times what the endpoints do: the store query plus the
spec-shaped JSON of the page. Prints median and 95th percentile per query shape.
``--db FILE`` keeps the filled store for the next run (it is reused when it already holds the rows).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from calendar import timegm
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from api.cpaas.cdrs import cdr_json  # noqa: E402
from softswitch.store import Store  # noqa: E402
from softswitch.store.cdrs import Cdr, CdrStore  # noqa: E402

STATUSES = ["ANSWER"] * 6 + ["BUSY", "NOANSWER", "CANCEL", "CHANUNAVAIL", "CONGESTION"]
YEAR_START = timegm(datetime(2023, 1, 1).timetuple())


def fill(store: CdrStore, rows: int, accounts: int) -> None:
    rng = random.Random(7)
    batch: list[Cdr] = []
    for i in range(rows):
        start = YEAR_START + i * (365 * 86400 / rows) + rng.random()
        status = rng.choice(STATUSES)
        answered = status == "ANSWER"
        batch.append(
            Cdr(
                account_id=f"account_{i % accounts + 1}",
                request_id=f"{i:010x}",
                call_direction="outbound-api",
                destination_context="click2call",
                caller_id="15168148111",
                agent_number="101",
                customer_number="919979271234",
                dialed_number="919979271234",
                call_date=start,
                answer=start + 5 if answered else None,
                end=start + 40,
                call_duration=40.0,
                billsec=35.0 if answered else 0.0,
                call_status="ANSWERED" if answered else "BUSY",
                dial_status=status,
                uniqueid=f"{int(start)}.{i}",
            )
        )
        if len(batch) == 50_000:
            store.insert_many(batch)
            batch.clear()
    if batch:
        store.insert_many(batch)


def timed(fn, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--db", help="keep the store here (reused if already filled)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Store(args.db or Path(tmp) / "cdrs.db")
        store = CdrStore(db.db)
        total = db.db.execute("SELECT COUNT(*) FROM cdrs").fetchone()[0]
        if total != args.rows:
            db.db.execute("DELETE FROM cdrs")
            db.db.execute("DELETE FROM cdr_counts")
            t0 = time.perf_counter()
            fill(store, args.rows, args.accounts)
            load = time.perf_counter() - t0
            total = db.db.execute("SELECT COUNT(*) FROM cdrs").fetchone()[0]
            print(
                f"rows: {total:,} over {args.accounts} accounts, loaded in {load:.1f} s "
                f"({total / load:,.0f} rows/s)"
            )
        else:
            print(f"rows: {total:,} (reused {args.db})")
        month_start = timegm(datetime(2023, 6, 13).timetuple())
        month_end = timegm(datetime(2023, 7, 13).timetuple())
        in_window = db.db.execute(
            "SELECT COUNT(*) FROM cdrs WHERE account_id = 'account_1' AND call_date >= ?"
            " AND call_date < ?",
            [month_start, month_end],
        ).fetchone()[0]
        print(f"get_cdr_by_date window: 2023-06-13..2023-07-12, {in_window:,} rows of account_1")

        def page(
            count: int,
            offset: int,
            start: float = month_start,
            end: float = month_end,
            fresh: bool = True,
        ):
            def run() -> None:
                # fresh: a repository that has served no page before (a random jump);
                # otherwise the previous page's end is known (a client walking pages)
                repo = CdrStore(db.db) if fresh else store
                rows = repo.by_date("account_1", start, end, count, offset)
                body = json.dumps(
                    {
                        "response": {
                            "message": "cdr found",
                            "result": [cdr_json(r) for r in rows],
                            "success": "true",
                        }
                    }
                )
                assert rows and body

            return run

        print(f"{'query':52} {'median ms':>10} {'p95 ms':>8}")
        for count, offset in (
            (5, 1),
            (100, 0),
            (100, 1_000),
            (100, 10_000),
            (100, in_window - 100),
            (1000, 0),
            (1000, 10_000),
        ):
            med, p95 = timed(page(count, offset), args.repeat)
            print(f"{f'by_date record_count={count} offset={offset}':52} {med:10.2f} {p95:8.2f}")
        year_end = timegm(datetime(2024, 1, 1).timetuple())
        in_year = db.db.execute(
            "SELECT COUNT(*) FROM cdrs WHERE account_id = 'account_1'"
        ).fetchone()[0]
        deep = in_year - 100
        label = f"whole year ({in_year:,} rows), 100 at offset {deep:,}"
        med, p95 = timed(page(100, deep, YEAR_START, year_end), args.repeat)
        print(f"{'by_date ' + label + ', jump':52} {med:10.2f} {p95:8.2f}")
        page(100, deep - 100, YEAR_START, year_end, fresh=False)()  # the page before
        med, p95 = timed(page(100, deep, YEAR_START, year_end, fresh=False), args.repeat)
        print(f"{'by_date ' + label + ', next page':52} {med:10.2f} {p95:8.2f}")
        ids = [f"{random.randrange(args.rows):010x}" for _ in range(args.repeat)]
        it = iter(ids * 2)

        def by_request() -> None:
            request_id = next(it)
            account = f"account_{int(request_id, 16) % args.accounts + 1}"
            assert store.by_request_id(account, request_id)

        med, p95 = timed(by_request, args.repeat)
        print(f"{'by_request_id':52} {med:10.2f} {p95:8.2f}")
        med, p95 = timed(lambda: store.statistics("account_1"), args.repeat)
        print(f"{'get_cdr_statistics':52} {med:10.2f} {p95:8.2f}")
        plan = db.db.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM cdrs WHERE account_id = ? AND call_date >= ?"
            " AND call_date < ? ORDER BY call_date, id LIMIT 100 OFFSET 10",
            ["account_1", month_start, month_end],
        ).fetchall()
        print("plan:", "; ".join(row[-1] for row in plan))
        db.close()


if __name__ == "__main__":
    main()
