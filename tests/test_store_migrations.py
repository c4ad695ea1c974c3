"""Numbered migrations: a SQLite file made before them upgrades in place with its data,
a failed migration leaves nothing behind, and two nodes starting on one PostgreSQL
database at once do not race."""

import sqlite3
import threading
from pathlib import Path

import pytest

from softswitch.store import Store
from softswitch.store.cdrs import Cdr, CdrStore
from softswitch.store.engine import Database, connect
from softswitch.store.jobs import JobStore
from softswitch.store.migrations import MIGRATIONS, Migration, current_version, migrate
from softswitch.store.voicemail import VoicemailStore
from softswitch.store.webhooks import WebhookStore

# the schema exactly as the store created it before numbered migrations (sqlite_master)
OLD_SCHEMA = (Path(__file__).parent / "store_schema_before_migrations.sql").read_text()
NEWEST = MIGRATIONS[-1].version


def _old_store(path: Path, schema: str = OLD_SCHEMA) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(schema.replace("CREATE TABLE sqlite_sequence(name,seq);", ""))
    conn.executescript(
        """
        INSERT INTO meta VALUES ('node', 'n1');
        INSERT INTO bindings VALUES ('101', 'sip:101@h', 4e9, 'cid', 1, 'UDP', 'h', 5062, 'ua');
        INSERT INTO cdrs (account_id, request_id, call_direction, destination_context,
            caller_id, agent_number, customer_number, dialed_number, call_date, dial_status)
            VALUES ('a', 'r1', 'inbound', 'click2call', '1', '2', '3', '3', 10, 'ANSWER');
        INSERT INTO cdr_counts VALUES ('a', '', 'ANSWER', 1);
        INSERT INTO voicemail_messages VALUES (7, '101', '555', 1.5, 3.0, 'm.wav', 0, '');
        INSERT INTO webhook_events (id, account_id, type, created_at, body, status,
            next_attempt_at) VALUES ('ev1', 'a', 'cdr', 1, '{}', 'delivered', 1);
        """
    )
    conn.commit()
    conn.close()


def _cdr(request_id: str) -> Cdr:
    return Cdr(
        "a", request_id, "outbound-api", "click2call", "1", "2", "3", "3", 20.0, 20.0, 21.0,
        1.0, 1.0, "ANSWERED", "ANSWER", hangup_cause="bye",
    )  # fmt: skip


def test_a_store_made_before_migrations_upgrades_in_place(tmp_path):
    path = tmp_path / "old.db"
    _old_store(path)
    store = Store(path)
    assert current_version(store.db) == NEWEST
    assert store.get_meta("node") == "n1"
    assert [b.contact for b in store.bindings("101", 0)] == ["sip:101@h"]
    cdrs = CdrStore(store.db)
    assert cdrs.get(1).request_id == "r1"
    assert cdrs.get(cdrs.insert(_cdr("r2"))).id == 2  # ids go on after the old rows
    assert cdrs.statistics("a")["answer_calls"] == 2
    (message,) = VoicemailStore(store.db).messages("101")
    assert (message.id, message.file) == (7, "m.wav")
    webhooks = WebhookStore(store.db)
    assert webhooks.event("ev1").seq == 1
    assert webhooks.add("ev2", "a", "cdr", "", 2.0, "{}") == 2
    store.close()
    assert Store(path).get_meta("node") == "n1"  # a second start: nothing to apply


def test_a_job_queue_from_before_custom_policies_is_upgraded(tmp_path):
    path = tmp_path / "old.db"
    old = OLD_SCHEMA.replace("custom INTEGER NOT NULL DEFAULT 0,", "").replace(
        "CREATE INDEX jobs_queue ON jobs (campaign_id, queued, priority, custom, next_at);",
        "CREATE INDEX jobs_due ON jobs (campaign_id, queued, priority, next_at);",
    )
    assert "custom INTEGER" not in old and "jobs_due" in old
    _old_store(path, old)
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO jobs (id, campaign_id, account_id, phone, status, queued, priority,"
        " next_at, max_attempts, retry_interval, source, created_at, updated_at)"
        " VALUES (1, 'CM1', 'a', '1001', 'planned', 1, 5, 0, 1, 60, 'api', 0, 0)"
    )
    conn.commit()
    conn.close()
    store = Store(path)
    assert "custom" in store.db.columns("jobs")
    indexes = {row[0] for row in store.db.execute("SELECT name FROM sqlite_master")}
    assert "jobs_queue" in indexes and "jobs_due" not in indexes
    assert JobStore(store.db).next_due("CM1", now=1.0).phone == "1001"


def test_a_cdr_table_from_before_hangup_causes_and_transfers_is_upgraded(tmp_path):
    path = tmp_path / "old.db"
    old = OLD_SCHEMA.replace(
        "is_dnd INTEGER NOT NULL DEFAULT 0,\n        hangup_cause TEXT NOT NULL DEFAULT '',"
        "\n        transfers TEXT NOT NULL DEFAULT ''",
        "is_dnd INTEGER NOT NULL DEFAULT 0",
    )
    assert "hangup_cause" not in old and "transfers" not in old
    _old_store(path, old)
    store = Store(path)
    cdrs = CdrStore(store.db)
    assert cdrs.get(1).hangup_cause == "" and cdrs.get(1).transfers == ""
    row = _cdr("r2")
    row.transfers = "102 transferred 101 to 103"
    got = cdrs.get(cdrs.insert(row))
    assert (got.hangup_cause, got.transfers) == ("bye", "102 transferred 101 to 103")


def _empty_database(request: pytest.FixtureRequest, engine: str, tmp_path: Path) -> Database:
    if engine == "sqlite":
        return connect(f"sqlite:///{tmp_path / 'empty.db'}")
    server = request.getfixturevalue("postgres_server")
    url = server.create_database(template="template0")
    request.addfinalizer(lambda: server.drop_database(url))
    return connect(url)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_migrations_apply_once_in_order(request, engine, tmp_path):
    db = _empty_database(request, engine, tmp_path)
    assert current_version(db) == 0
    seen: list[int] = []
    second, third = NEWEST + 1, NEWEST + 2
    extra = (
        Migration(third, "third", lambda d: seen.append(third)),
        Migration(second, "second", lambda d: seen.append(second)),
    )
    assert migrate(db, MIGRATIONS + extra) == [*range(1, NEWEST + 1), second, third]
    assert seen == [second, third]
    assert migrate(db, MIGRATIONS + extra) == []
    assert current_version(db) == third
    assert {"cdrs", "jobs", "webhook_events", "schema_migrations"} <= db.tables()
    db.close()


def _broken(db: Database) -> None:
    db.execute_ddl("CREATE TABLE half_done (id INTEGER PRIMARY KEY)")
    raise RuntimeError("migration failed")


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_failed_migration_leaves_the_schema_as_it_was(request, engine, tmp_path):
    db = _empty_database(request, engine, tmp_path)
    migrate(db)
    with pytest.raises(RuntimeError, match="migration failed"):
        migrate(db, MIGRATIONS + (Migration(NEWEST + 1, "broken", _broken),))
    assert "half_done" not in db.tables()
    assert current_version(db) == NEWEST
    db.close()


def test_two_nodes_starting_together_on_postgresql_do_not_race(postgres_server):
    url = postgres_server.create_database(template="template0")
    try:
        barrier = threading.Barrier(4)
        applied: list[list[int]] = []
        errors: list[BaseException] = []

        def node() -> None:
            db = connect(url, pool_size=1)
            try:
                barrier.wait(timeout=10)
                applied.append(migrate(db))
            except BaseException as exc:  # noqa: BLE001 reported below
                errors.append(exc)
            finally:
                db.close()

        threads = [threading.Thread(target=node) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert errors == []
        assert sorted(applied) == [[], [], [], [v.version for v in MIGRATIONS]]
    finally:
        postgres_server.drop_database(url)


def test_an_older_store_gets_the_answered_by_columns_and_keeps_them(tmp_path):
    from softswitch.answering import AmdMode
    from softswitch.campaigns.model import Campaign
    from softswitch.store.campaigns import CampaignStore

    path = tmp_path / "old.db"
    _old_store(path)
    store = Store(path)
    for table, column in (
        ("cdrs", "answered_by"),
        ("attempts", "answered_by"),
        ("campaigns", "amd"),
    ):
        assert column in store.db.columns(table)
    cdrs = CdrStore(store.db)
    assert cdrs.get(1).answered_by == ""  # rows from before detection existed
    row = _cdr("r3")
    row.answered_by = "machine_end_beep"
    assert cdrs.get(cdrs.insert(row)).answered_by == "machine_end_beep"
    campaigns = CampaignStore(store.db)
    campaigns.create(Campaign("CM0000000001", "a", "c", "t", amd=AmdMode.LEAVE_MESSAGE))
    assert campaigns.get("CM0000000001").amd is AmdMode.LEAVE_MESSAGE
