"""A switch process on PostgreSQL end to end: `softswitch serve` with ``[store] url =
"postgresql://..."`` on an empty database (the process runs the migrations), two
baresip phones registered (their bindings rows in PostgreSQL), a call between them,
a click2call through the CPaaS API and its CDR read back through the API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.peers.baresip import BaresipAccount
from tests.peers.process import wait_until

pytestmark = pytest.mark.peers

ACCOUNT = {"account": "account_1", "auth": "secret-one"}


def _config(tmp_path: Path, url: str, sip_port: int, rtp_first: int, api_port: int) -> Path:
    path = tmp_path / "softswitch.toml"
    path.write_text(f'''
[sip]
listen = "127.0.0.1:{sip_port}"
[rtp]
address = "127.0.0.1"
ports = "{rtp_first}-{rtp_first + 99}"
[api]
listen = "127.0.0.1:{api_port}"
[store]
url = "{url}"
path = "{tmp_path / "data" / "unused.db"}"
pool_size = 4
[media]
recordings_dir = "{tmp_path / "rec"}"
uploads_dir = "{tmp_path / "up"}"
prompts_dir = "{tmp_path / "prompts"}"
[[extensions]]
number = "101"
password = "pw101"
[[extensions]]
number = "102"
password = "pw102"
[[accounts]]
id = "account_1"
auth = "secret-one"
''')
    return path


def _healthy(api_port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{api_port}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def empty_database(postgres_server):
    url = postgres_server.create_database(template="template0")
    yield url
    postgres_server.drop_database(url)


def test_a_switch_on_postgresql_registers_calls_and_serves_cdrs(
    tmp_path, ports, rtp_ports, phone_factory, empty_database
):
    sip_port, api_port = ports.port(), ports.port()
    config = _config(tmp_path, empty_database, sip_port, rtp_ports.block(100), api_port)
    log = (tmp_path / "switch.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "softswitchd", "serve", "--config", str(config)],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: _healthy(api_port) or server.poll() is not None, 30, what="switch up")
        assert server.poll() is None, (tmp_path / "switch.log").read_text()
        phones = {}
        for number, tone in (("101", 440.0), ("102", 1000.0)):
            account = BaresipAccount(number, f"pw{number}", registrar=f"127.0.0.1:{sip_port}")
            phones[number] = phone_factory(account, tone_hz=tone)
            phones[number].wait_registered()
        with psycopg.connect(empty_database) as db:
            aors = [row[0] for row in db.execute("SELECT aor FROM bindings ORDER BY aor")]
            assert aors == ["101", "102"]  # registered in PostgreSQL, readable by any node
            (version,) = db.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
            assert version >= 1

        # phone to phone through the switch, routed on the bindings in PostgreSQL
        phones["101"].dial(f"sip:102@127.0.0.1:{sip_port}")
        phones["102"].wait_call_established()
        phones["101"].wait_call_established()
        phones["101"].hangup()
        phones["102"].wait_call_closed()

        # the CPaaS API: a click2call between the two phones, then its CDR
        response = httpx.post(
            f"http://127.0.0.1:{api_port}/api/click2call",
            json={"agent_number": "101", "destination_number": "102", "caller_id": "555"},
            headers=ACCOUNT,
            timeout=10,
        ).json()["response"]
        assert response["success"] == "true", response
        request_id = response["request_id"]
        phones["102"].wait_call_established()
        phones["101"].hangup()
        phones["102"].wait_call_closed()

        def cdr():
            data = httpx.post(
                f"http://127.0.0.1:{api_port}/api/get_cdr_by_request_id",
                json={"request_id": request_id},
                headers=ACCOUNT,
                timeout=10,
            ).json()["response"]
            return data.get("result") and data["result"][0]

        found = wait_until(cdr, 20, what="the click2call's CDR")
        assert found["dial_status"] == "ANSWER" and found["agent_number"] == "101"
        assert not (tmp_path / "data" / "unused.db").exists()  # no SQLite file on the side
    finally:
        if server.poll() is None:
            os.kill(server.pid, signal.SIGTERM)
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(5)
        log.close()
