"""The PostgreSQL test peer on its own: a cluster started as an unprivileged user,
reachable over TCP with the password and over its unix socket, stopped without a trace;
a database per test copied from the migrated template."""

from __future__ import annotations

import os

import psycopg
import pytest

from softswitch.store.migrations import MIGRATIONS
from tests.peers.ports import PortPicker
from tests.peers.postgres import PostgresServer, postgres_bin

pytestmark = pytest.mark.peers


def test_a_cluster_starts_unprivileged_and_stops_without_a_trace(peer_ports: PortPicker):
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("not installed: postgresql")
    port = peer_ports.port()
    server = PostgresServer(bin_dir, port)
    try:
        server.start()
        with psycopg.connect(server.url("postgres")) as conn:
            user, collation = conn.execute(
                "SELECT current_user, datcollate FROM pg_database WHERE datname = 'postgres'"
            ).fetchone()
        assert (user, collation) == ("softswitch", "C")
        assert server.process is not None
        owner = os.stat(server.data).st_uid
        assert owner != 0 or os.getuid() != 0  # never run as root
        pid = server.process.pid
    finally:
        server.stop()
        peer_ports.release(port)
    assert not server.root.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_each_test_gets_its_own_migrated_database(postgres_server, postgres_url):
    with psycopg.connect(postgres_url) as conn:
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations")]
        conn.execute("CREATE TABLE scratch (x INTEGER)")
    assert versions == [m.version for m in MIGRATIONS]
    other = postgres_server.create_database()
    try:
        with psycopg.connect(other) as conn:
            tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables")}
        assert "cdrs" in tables and "scratch" not in tables
    finally:
        postgres_server.drop_database(other)
