"""Benchmark: the dialer's next-job claim with 1,000,000 jobs and 4 nodes claiming at once.

One campaign holds `--jobs` queued jobs (priorities 1-5, half with a custom policy, all
due), bulk-loaded in one INSERT ... SELECT over a generated series. `--claimers` processes
(each a "node": its own connection) then claim as fast as they can, all at once, for
`--claims` claims each: `JobLeases.claim_next` (the campaign's pacing row locked, its
live leases counted, the next due job selected FOR UPDATE SKIP LOCKED, claimed with its
attempt and lease), then resolve the attempt (lease released, job finished) as the
dialer does when a call ends, so the campaign's live leases stay few. Printed: the claim
time (wall: median, p99, max; and CPU per claim), the resolve time, and a check that no
job was claimed twice.

    .venv/bin/python tools/bench/dialer_claims.py [--engine postgresql|sqlite]
        [--jobs 1000000] [--claimers 4] [--claims 2000]

PostgreSQL: a throw-away cluster is started as the tests start it (tests/peers/postgres.py:
initdb in a temporary directory, as an unprivileged user) and removed at the end.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from softswitch.campaigns.model import JobStatus  # noqa: E402
from softswitch.store import Store  # noqa: E402
from softswitch.store.database import transaction  # noqa: E402
from softswitch.store.engine import Database, Dialect  # noqa: E402
from softswitch.store.job_leases import ClaimStatus, JobLeases  # noqa: E402
from softswitch.store.jobs import JobStore  # noqa: E402

NOW = 1_700_000_000.0
CAMPAIGN = "CMbench00001"

_COLUMNS = (
    "id, campaign_id, account_id, phone, payload, dedup, keyless, status, queued, priority,"
    " custom, next_at, gmt_zone, policy, max_attempts, retry_interval, source, list_id,"
    " contact_name, created_at, updated_at"
)
# one row per n of the series: priorities 1-5 round robin, every other pair with a
# custom policy, due times spread over the last 1,000 s
_ROW = (
    "n, ? || (n % ?), 'bench', '1212' || n, '{}', '', 0, 'planned', 1, 1 + n % 5, (n / 5) % 2,"
    " ? - n % 1000, '', '{}', 3, 600.0, 'api', '', '', ?, ?"
)


def open_db(url: str) -> Database:
    """One node's connection (the schema migrated by the first)."""
    return Store(url, pool_size=1).db


def load(url: str, jobs: int, campaigns: int) -> float:
    """Bulk-load the jobs (spread over `campaigns`); returns the seconds it took."""
    db = open_db(url)
    started = time.perf_counter()
    args = [CAMPAIGN, campaigns, NOW, NOW, NOW, jobs]
    with transaction(db):
        if url.startswith("sqlite"):
            db.execute(
                "WITH RECURSIVE series(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM series"
                f" WHERE n < ?) INSERT INTO jobs ({_COLUMNS}) SELECT {_ROW} FROM series",
                [jobs, *args[:-1]],
            )
        else:
            db.execute(
                f"INSERT INTO jobs ({_COLUMNS}) SELECT {_ROW.replace('n,', 'n::integer,', 1)}"
                " FROM generate_series(1, ?) AS n",
                args,
            )
    if not url.startswith("sqlite"):
        db.execute("ANALYZE jobs")
    return time.perf_counter() - started


def claimer(url: str, node: str, campaign: str, claims: int, start: Any, out: Any) -> None:
    db = open_db(url)
    jobs = JobStore(db)
    leases = JobLeases(db, jobs)
    walls: list[float] = []
    resolves: list[float] = []
    claimed: list[int] = []
    backend = _backend_pid(db)
    start.wait()
    server_cpu = _cpu_of(backend)
    cpu = time.process_time()
    for i in range(claims):
        t0 = time.perf_counter()
        got = leases.claim_next(
            campaign,
            NOW + 1,
            node=node,
            lease_seconds=30.0,
            max_simultaneous=1000,
            interval=0.0,
            request_id=f"{node}{i:08d}",
        )
        t1 = time.perf_counter()
        walls.append(t1 - t0)
        if got.status is not ClaimStatus.CLAIMED or got.attempt is None:
            break
        attempt = got.attempt
        claimed.append(attempt.job_id)
        attempt.ended_at, attempt.dial_status = NOW + 2, "NOANSWER"
        with transaction(db):
            leases.release(attempt.id, node)
            jobs.finish_attempt(attempt, JobStatus.NO_ANSWER, NOW + 2)
        resolves.append(time.perf_counter() - t1)
    cpu = time.process_time() - cpu + _cpu_of(backend) - server_cpu
    out.put((node, walls, resolves, claimed, cpu))


def _backend_pid(db: Database) -> int | None:
    """The PostgreSQL server process serving this claimer (its one pooled connection)."""
    if db.dialect is not Dialect.POSTGRESQL:
        return None
    return int(db.execute("SELECT pg_backend_pid()").scalar())


def _cpu_of(pid: int | None) -> float:
    """CPU seconds a process on this machine has used (0 without one)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def plan(url: str) -> str:
    """How the engine finds the next due job (the claim's seek): the index it uses."""
    db = open_db(url)
    query = (
        "SELECT id FROM jobs WHERE campaign_id = ? AND queued = 1 AND priority = ?"
        " AND custom = ? AND next_at <= ? ORDER BY next_at, id LIMIT 1"
    )
    if db.dialect is Dialect.POSTGRESQL:
        rows = db.execute(f"EXPLAIN {query} FOR UPDATE SKIP LOCKED", [CAMPAIGN + "0", 1, 1, NOW])
        return " / ".join(row[0].strip() for row in rows)
    rows = db.execute(f"EXPLAIN QUERY PLAN {query}", [CAMPAIGN + "0", 1, 1, NOW])
    return " / ".join(str(row[-1]) for row in rows)


def run(url: str, jobs: int, claimers: int, claims: int, campaigns: int) -> None:
    took = load(url, jobs, campaigns)
    print(f"loaded {jobs:,} jobs ({campaigns} campaign(s)) in {took:.1f} s")
    print(f"plan: {plan(url)}")
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Barrier(claimers), ctx.Queue()
    procs = [
        ctx.Process(
            target=claimer,
            args=(url, f"node{i}", f"{CAMPAIGN}{i % campaigns}", claims, start, out),
        )
        for i in range(claimers)
    ]
    for proc in procs:
        proc.start()
    results = [out.get() for _ in procs]
    for proc in procs:
        proc.join()
    walls = [w for _, ws, _, _, _ in results for w in ws]
    resolves = [r for _, _, rs, _, _ in results for r in rs]
    claimed = Counter(j for _, _, _, js, _ in results for j in js)
    cpu = sum(c for *_, c in results)
    ms = 1000.0
    print(
        f"{claimers} claimers x {claims} claims on {jobs:,} jobs ({url.split(':')[0]}):"
        f" claim wall median {statistics.median(walls) * ms:.2f} ms,"
        f" p99 {percentile(walls, 0.99) * ms:.2f} ms, max {max(walls) * ms:.2f} ms;"
        f" resolve median {statistics.median(resolves) * ms:.2f} ms;"
        f" CPU per claim+resolve (claimer and its server process)"
        f" {cpu / max(1, len(resolves)) * ms:.2f} ms"
    )
    twice = [j for j, n in claimed.items() if n > 1]
    print(f"jobs claimed: {len(claimed):,}, claimed twice: {len(twice)}")
    if twice:
        raise SystemExit("a job was claimed twice")


@contextmanager
def postgres() -> Iterator[str]:
    from tests.peers.ports import PortPicker
    from tests.peers.postgres import PostgresServer, postgres_bin

    bin_dir = postgres_bin()
    if bin_dir is None:
        raise SystemExit("PostgreSQL is not installed (apt-get install postgresql)")
    server = PostgresServer(bin_dir, PortPicker().port())
    server.start()
    try:
        yield server.create_database(template="template0")
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--claimers", type=int, default=4)
    parser.add_argument("--claims", type=int, default=2000)
    # 1: every claimer on the same campaign (its pacing row shared: the hard case);
    # N: the jobs spread over N campaigns, claimer i on campaign i % N
    parser.add_argument("--campaigns", type=int, default=1)
    args = parser.parse_args()
    if args.engine == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{tmp}/claims.db", args.jobs, args.claimers, args.claims, args.campaigns)
        return
    with postgres() as url:
        run(url, args.jobs, args.claimers, args.claims, args.campaigns)


if __name__ == "__main__":
    main()
