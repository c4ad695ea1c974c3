import time

import sqlite_utils

from softswitch.store import Binding, Extension, Store
from softswitch.store.cdrs import _SCHEMA as CDRS_SCHEMA
from softswitch.store.cdrs import Cdr, CdrStore
from softswitch.store.jobs import _SCHEMA as JOBS_SCHEMA
from softswitch.store.jobs import JobStore


def binding(contact: str, expires_at: float, cseq: int = 1) -> Binding:
    return Binding("101", contact, expires_at, "cid", cseq, "UDP", "127.0.0.1", 5062)


def test_bindings_survive_reopening(tmp_path):
    path = tmp_path / "s.db"
    store = Store(path)
    now = time.time()
    store.put_extension(Extension("101", "a" * 32, "b" * 64, "config"))
    store.put_binding(binding("sip:101@127.0.0.1:5062", now + 60))
    store.put_binding(binding("sip:101@127.0.0.1:5063", now - 1))  # already expired
    store.close()
    again = Store(path)
    assert again.extension("101").ha1_sha256 == "b" * 64
    assert [b.contact for b in again.bindings("101", now)] == ["sip:101@127.0.0.1:5062"]
    assert again.purge_expired_bindings(now) == 1


def test_binding_upsert_and_removal(tmp_path):
    store = Store(tmp_path / "s.db")
    now = time.time()
    store.put_binding(binding("sip:a@h", now + 10))
    store.put_binding(binding("sip:a@h", now + 100, cseq=2))
    (only,) = store.bindings("101", now)
    assert only.cseq == 2 and only.expires_in(now) == 100
    store.delete_binding("101", "sip:a@h")
    assert store.bindings("101", now) == []


def test_meta_and_extension_pruning(tmp_path):
    store = Store(tmp_path / "s.db")
    store.set_meta("k", "v")
    assert store.get_meta("k") == "v" and store.get_meta("nope") is None
    for n in ("101", "102"):
        store.put_extension(Extension(n, "x", "y", "config"))
    store.delete_extensions_except(["102"], "config")
    assert [e.number for e in store.extensions()] == ["102"]


def test_a_job_queue_from_before_custom_policies_is_upgraded(tmp_path):
    db = sqlite_utils.Database(tmp_path / "old.db")
    db.execute(JOBS_SCHEMA[0].replace("custom INTEGER NOT NULL DEFAULT 0,", ""))
    db.execute("CREATE INDEX jobs_due ON jobs (campaign_id, queued, priority, next_at)")
    db.execute(
        "INSERT INTO jobs (id, campaign_id, account_id, phone, status, queued, priority,"
        " next_at, max_attempts, retry_interval, source, created_at, updated_at)"
        " VALUES (1, 'CM1', 'a', '1001', 'planned', 1, 5, 0, 1, 60, 'api', 0, 0)"
    )
    jobs = JobStore(db)
    assert "custom" in {c.name for c in db["jobs"].columns}
    assert {i.name for i in db["jobs"].indexes} >= {"jobs_queue"}
    assert "jobs_due" not in {i.name for i in db["jobs"].indexes}
    assert jobs.next_due("CM1", now=1.0).phone == "1001"


def test_a_cdr_table_from_before_hangup_causes_is_upgraded(tmp_path):
    db = sqlite_utils.Database(tmp_path / "old.db")
    old_schema = CDRS_SCHEMA[0].replace(
        "is_dnd INTEGER NOT NULL DEFAULT 0,\n        hangup_cause TEXT NOT NULL DEFAULT ''",
        "is_dnd INTEGER NOT NULL DEFAULT 0",
    )
    assert "hangup_cause" not in old_schema
    db.execute(old_schema)
    db.execute(
        "INSERT INTO cdrs (account_id, request_id, call_direction, destination_context,"
        " caller_id, agent_number, customer_number, dialed_number, call_date, dial_status)"
        " VALUES ('a', 'r1', 'inbound', 'click2call', '1', '2', '3', '3', 0, 'ANSWER')"
    )
    cdrs = CdrStore(db)
    assert cdrs.get(1).hangup_cause == ""
    row = Cdr(
        "a",
        "r2",
        "outbound-api",
        "click2call",
        "1",
        "2",
        "3",
        "3",
        1.0,
        1.0,
        2.0,
        1.0,
        1.0,
        "ANSWERED",
        "ANSWER",
        hangup_cause="rtp timeout",
    )
    assert cdrs.get(cdrs.insert(row)).hangup_cause == "rtp timeout"


def test_a_cdr_keeps_the_transfers_and_an_older_table_gets_the_column(tmp_path):
    db = sqlite_utils.Database(tmp_path / "old.db")
    old_schema = CDRS_SCHEMA[0].replace(",\n        transfers TEXT NOT NULL DEFAULT ''", "")
    assert "transfers" not in old_schema
    db.execute(old_schema)
    cdrs = CdrStore(db)
    assert "transfers" in {c.name for c in db["cdrs"].columns}
    row = Cdr(
        "a", "r", "outbound-api", "click2call", "1", "2", "3", "3", 1.0, 1.0, 2.0, 1.0, 1.0,
        "ANSWERED", "ANSWER", transfers="102 transferred 101 to 103",
    )  # fmt: skip
    assert cdrs.get(cdrs.insert(row)).transfers == "102 transferred 101 to 103"


def test_answered_by_columns_are_added_to_older_tables_and_kept(tmp_path):
    from softswitch.answering import AmdMode
    from softswitch.campaigns.model import Campaign
    from softswitch.store.campaigns import _SCHEMA as CAMPAIGNS_SCHEMA
    from softswitch.store.campaigns import CampaignStore

    db = sqlite_utils.Database(tmp_path / "old.db")
    old = {
        "cdrs": CDRS_SCHEMA[0].replace(",\n        answered_by TEXT NOT NULL DEFAULT ''", ""),
        "attempts": next(s for s in JOBS_SCHEMA if "TABLE IF NOT EXISTS attempts" in s).replace(
            ",\n        answered_by TEXT NOT NULL DEFAULT ''", ""
        ),
        "campaigns": CAMPAIGNS_SCHEMA[0].replace(",\n        amd TEXT NOT NULL DEFAULT 'off'", ""),
    }
    for schema in old.values():
        assert "answered_by" not in schema and " amd " not in schema
        db.execute(schema)
    cdrs, jobs, campaigns = CdrStore(db), JobStore(db), CampaignStore(db)
    assert "answered_by" in {c.name for c in db["cdrs"].columns}
    assert "answered_by" in {c.name for c in db["attempts"].columns}
    assert "amd" in {c.name for c in db["campaigns"].columns}
    row = Cdr(
        *("a", "r", "outbound-api", "local_call", "1", "", "3", "3"),
        *(1.0, 1.0, 2.0, 1.0, 1.0, "ANSWERED", "ANSWER"),
        answered_by="machine_end_beep",
    )
    assert cdrs.get(cdrs.insert(row)).answered_by == "machine_end_beep"
    campaign = Campaign("CM0000000001", "a", "c", "t", amd=AmdMode.LEAVE_MESSAGE)
    campaigns.create(campaign)
    assert campaigns.get(campaign.id).amd is AmdMode.LEAVE_MESSAGE
    assert jobs.attempts([]) == []
