"""Two switch nodes (separate softswitchd processes) sharing one store dial one campaign:
300 jobs created through node A's API, dialed by both through a carrier (kamailio) to a
sipp UAS, the store on PostgreSQL. Node B is SIGKILLed mid-campaign; node A takes over
its leases and finishes.

Every job is dialed exactly once (the carrier's relayed INVITEs per number, and the
attempts in the store), and the campaign's pace holds across both nodes (attempt start
times against calls_per_minute).
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest

from softswitch.campaigns.dialer import INTERRUPTED
from softswitch.campaigns.manager import CampaignManager
from softswitch.campaigns.model import FINAL_STATUSES, JobStatus
from softswitch.store import Store
from softswitch.store.job_leases import JobLeases
from tests.e2e.campaigns import open_now
from tests.peers.kamailio import Kamailio, KamailioConfig
from tests.peers.process import PeerProcess, wait_until
from tests.peers.sipp import start_sipp
from tests.test_cli import health

pytestmark = pytest.mark.peers

HEADERS = {"account": "account_1", "auth": "secret-one"}
JOBS = 300
CALLS_PER_MINUTE = 1200  # a start every 50 ms for the campaign, whatever the nodes
MAX_SIMULTANEOUS = 40
LEASE_SECONDS = 3  # node B's calls are taken over this long after it dies
NUMBERS = [f"777{i:04d}" for i in range(JOBS)]  # 7 digits: no numbering-plan check


@pytest.fixture
def shared_store(postgres_url: str) -> str:
    """Where both nodes keep their state: one PostgreSQL database (a fresh one, with the
    store's schema). A SQLite file works too (`f"sqlite:///{path}"`), on one machine."""
    return postgres_url


def node_config(
    workdir: Path, name: str, store: str, sip: int, api: int, rtp: int, carrier: str
) -> Path:
    workdir.mkdir(parents=True)
    path = workdir / "softswitch.toml"
    path.write_text(f'''
[sip]
listen = "127.0.0.1:{sip}"
[rtp]
address = "127.0.0.1"
ports = "{rtp}-{rtp + 99}"
[api]
listen = "127.0.0.1:{api}"
[store]
url = "{store}"
[cluster]
node_id = "{name}"
lease_seconds = {LEASE_SECONDS}
[[accounts]]
id = "account_1"
auth = "secret-one"
[[trunks]]
name = "carrier"
host = "{carrier}"
register = false
caller_id = "15168148111"
prefixes = ["777"]
''')
    return path


def start_node(workdir: Path, config: Path, api: int) -> PeerProcess:
    node = PeerProcess(
        [sys.executable, "-m", "softswitchd", "serve", "--config", str(config)],
        workdir / "node.log",
        cwd=workdir,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    node.start()
    wait_until(lambda: health(api), 20, alive=node, what=f"{workdir.name} up")
    return node


def api(port: int, path: str, body: dict) -> dict:
    response = httpx.post(f"http://127.0.0.1:{port}{path}", json=body, headers=HEADERS, timeout=30)
    return response.json()


def create_campaign(port: int) -> str:
    list_id = api(port, "/api/create_campaign_list", {"list_name": "cluster"})["response"][
        "list_id"
    ]
    contacts = [{"contact_name": f"c{n}", "contact_number": n} for n in NUMBERS]
    added = api(port, "/api/add_contact_to_list", {"list_id": list_id, "contacts": contacts})
    assert added["response"]["success"] == "true", added
    created = api(
        port,
        "/api/create_campaign",
        open_now(
            list_id,
            "two nodes",
            "1",
            calls_per_minute=str(CALLS_PER_MINUTE),
            max_simultaneous_calls=str(MAX_SIMULTANEOUS),
            # a short call: answered, half a second, hung up by the switch
            flow=[{"type": "pause", "seconds": 0.5}, {"type": "hangup"}],
        ),
    )
    assert created["response"]["success"] == "true", created
    return created["response"]["campaign_id"]


def test_two_nodes_dial_one_campaign_and_survive_a_sigkill(
    tmp_path: Path, ports, rtp_ports, shared_store: str
) -> None:
    uas_port = ports.port()
    uas = start_sipp(
        tmp_path / "uas", "uas_answer.xml", port=uas_port, calls=100_000, limit=1000, timeout=300
    )
    carrier = Kamailio(
        tmp_path / "carrier",
        KamailioConfig(
            port=ports.port(),
            trusted=["127.0.0.1"],
            static_routes={"777": f"127.0.0.1:{uas_port}"},
        ),
    )
    carrier.start()
    nodes: dict[str, PeerProcess] = {}
    try:
        apis = {}
        for name in ("node-a", "node-b"):
            apis[name] = ports.port()
            workdir = tmp_path / name
            config = node_config(
                workdir,
                name,
                shared_store,
                ports.port(),
                apis[name],
                rtp_ports.block(100),
                carrier.address,
            )
            nodes[name] = start_node(workdir, config, apis[name])
        store = Store(shared_store)
        manager = CampaignManager(store.db)
        leases = JobLeases(store.db, manager.jobs)

        campaign_id = create_campaign(apis["node-a"])
        seen: Counter[str] = Counter()  # leases per node, summed over the polls

        def progress(at_least: int) -> bool:
            seen.update(leases.holders(campaign_id))
            counts = manager.jobs.status_counts(campaign_id)
            return JOBS - counts.get(JobStatus.PLANNED.value, JOBS) >= at_least

        # polled a few times a second: the store is the nodes' too
        wait_until(lambda: progress(JOBS // 3), 60, interval=0.25, what="a third dialed")
        wait_until(
            lambda: leases.holders(campaign_id).get("node-b"), 20, interval=0.1, what="B mid-call"
        )
        held_by_b = leases.holders(campaign_id).get("node-b", 0)
        nodes["node-b"].stop(graceful=False)  # SIGKILL: no BYE, no outcome, no lease released
        assert seen["node-a"] and seen["node-b"], seen  # both nodes were dialing

        def finished() -> bool:
            counts = manager.jobs.status_counts(campaign_id)
            return sum(counts.values()) == JOBS and all(
                JobStatus(s) in FINAL_STATUSES for s in counts
            )

        wait_until(
            finished, 90, interval=0.25, alive=nodes["node-a"], what="every job resolved by A"
        )
        jobs = manager.jobs.of_campaign(campaign_id)
        attempts = manager.jobs.attempts(j.id for j in jobs)

        # each job dialed exactly once: one attempt each, one INVITE each at the carrier
        assert sorted(j.phone for j in jobs) == NUMBERS
        assert Counter(a.job_id for a in attempts) == Counter({j.id: 1 for j in jobs})
        relayed = Counter(line.split()[1] for line in carrier.log_lines("STATIC-ROUTE"))
        assert relayed == Counter({n: 1 for n in NUMBERS}), (
            set(NUMBERS) - set(relayed),
            {n: c for n, c in relayed.items() if c != 1},
        )
        # B's calls cut by the kill were resolved by A (no retries in this campaign)
        interrupted = [a for a in attempts if a.dial_status == INTERRUPTED]
        assert 0 < len(interrupted) <= held_by_b + MAX_SIMULTANEOUS
        assert all(a.ended_at is not None for a in attempts)
        assert leases.holders(campaign_id) == {}
        statuses = Counter(j.status for j in jobs)
        assert set(statuses) <= {JobStatus.LONG_CALL_WITH_NO_RESULT, JobStatus.NO_ANSWER}
        assert statuses[JobStatus.NO_ANSWER] == len(interrupted)

        # the campaign's pace: start k comes at least k slots after the first
        interval = 60.0 / CALLS_PER_MINUTE
        starts = sorted(a.started_at for a in attempts)
        early = [k for k, t in enumerate(starts) if t - starts[0] < k * interval - 1e-3]
        assert not early, f"starts ahead of the campaign's pace: {early[:5]}"
        rate = (len(starts) - 1) * 60.0 / (starts[-1] - starts[0])
        print(
            f"{JOBS} jobs by two nodes in {starts[-1] - starts[0]:.1f} s: {rate:.0f} starts/min"
            f" (limit {CALLS_PER_MINUTE}); {len(interrupted)} cut by the SIGKILL, leases seen"
            f" {dict(seen)}"
        )
        assert rate <= CALLS_PER_MINUTE * 1.001
        store.close()
    finally:
        for node in nodes.values():
            node.stop(10)
        carrier.stop()
        uas.stop()
