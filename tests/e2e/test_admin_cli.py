"""The admin commands run as a user runs them (`softswitch status|calls|cdr|import`, a
subprocess) against a whole running switch: two baresip phones in a call, CDRs in
the store, CSV files imported through the API."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from softswitch.admin_tokens import create_admin_token
from softswitch.store.admin_tokens import AdminTokenStore
from softswitch.store.cdrs import Cdr, CdrStore
from tests.peers.baresip import BaresipAccount
from tests.server_harness import ServerHarness
from tests.switch_harness import switch_config

pytestmark = pytest.mark.peers

SOFTSWITCH = str(Path(sys.executable).parent / "softswitch")  # the installed command


@pytest.fixture(scope="module")
def server(tmp_path_factory, ports, rtp_ports):
    sip_port, api_port, rtp_first = ports.port(), ports.port(), rtp_ports.block(100)
    config = switch_config(
        tmp_path_factory.mktemp("cli"),
        sip_port,
        rtp_first,
        api_port=api_port,
        accounts={"account_1": "secret-one", "account_2": "secret-two"},
        trunks=[{"name": "carrier", "host": "127.0.0.1:9", "register": False}],
    )
    harness = ServerHarness(config)
    try:
        harness.start()
        yield harness
    finally:
        harness.stop()
        ports.release(sip_port)
        ports.release(api_port)
        rtp_ports.release(rtp_first, 100)


@pytest.fixture(scope="module")
def token(server) -> str:
    store = server.switch.store
    return server.call(lambda: create_admin_token(AdminTokenStore(store.db))).token


def softswitch(server, *args: str, token: str | None = None, **env: str):
    environ = {
        **os.environ,
        "SOFTSWITCH_URL": server.url,
        "COLUMNS": "250",  # rich's table width when the output is not a terminal
        **env,
    }
    if token is not None:
        environ["SOFTSWITCH_ADMIN_TOKEN"] = token
    return subprocess.run(
        [SOFTSWITCH, *args], env=environ, capture_output=True, text=True, timeout=60
    )


def row(output: str, *cells: str) -> str:
    """The one table line holding every cell."""
    [line] = [line for line in output.splitlines() if all(c in line for c in cells)]
    return line


def test_status_and_calls_during_a_call_between_two_phones(server, token, phone_factory):
    idle = softswitch(server, "status", token=token)
    assert idle.returncode == 0, idle.stderr
    assert "switch: ok" in idle.stdout
    row(idle.stdout, "carrier", "127.0.0.1:9", "ip-auth")
    assert "no registered phones" in idle.stdout
    assert "live calls: 0 bridged; 0 channel(s)" in idle.stdout
    assert softswitch(server, "calls", token=token).stdout.strip() == "no live calls"

    port = server.config.sip_host_port[1]
    caller = phone_factory(BaresipAccount("101", "pw101", registrar=f"127.0.0.1:{port}"))
    callee = phone_factory(BaresipAccount("102", "pw102", registrar=f"127.0.0.1:{port}"))
    caller.wait_registered()
    callee.wait_registered()
    caller.dial(f"sip:102@127.0.0.1:{port}")
    callee.wait_call_established()
    caller.wait_call_established()
    try:
        status = softswitch(server, "status", token=token)
        assert status.returncode == 0, status.stderr
        for phone in (caller, callee):
            row(status.stdout, phone.account.user, "udp", f"127.0.0.1:{phone.port}", "yes")
        assert "live calls: 1 bridged; 2 channel(s): 1 inbound, 1 outbound" in status.stdout

        calls = softswitch(server, "calls", token=token)
        assert calls.returncode == 0, calls.stderr
        assert "Live calls: 2 channel(s)" in calls.stdout
        inbound = row(calls.stdout, "inbound", "extension 101")
        outbound = row(calls.stdout, "outbound", "extension 102")
        names = server.call(lambda: sorted(c.name for c in server.switch.channels))
        for line in (inbound, outbound):
            assert " up " in line and "PCMU" in line
            assert sum(name in line for name in names) == 2  # itself and the one it talks to
    finally:
        caller.hangup()
        caller.wait_call_closed()


def test_cdr_table_of_a_window(server, token):
    now = time.time()

    def cdr(account: str, request: str, at: float, cause: str) -> Cdr:
        return Cdr(
            account_id=account,
            request_id=request,
            call_direction="outbound-api",
            destination_context="click2call",
            caller_id="5551000",
            agent_number="101",
            customer_number="15550123",
            dialed_number="15550123",
            call_date=at,
            answer=at + 3,
            end=at + 65,
            call_duration=65,
            billsec=62,
            call_status="ANSWERED",
            dial_status="ANSWER",
            hangup_cause=cause,
        )

    store = CdrStore(server.switch.store.db)
    rows = [
        cdr("account_1", "req-recent-1", now - 600, "normal clearing"),
        cdr("account_2", "req-recent-2", now - 300, "agent hung up"),
        cdr("account_1", "req-old", now - 3 * 86400, "normal clearing"),
    ]
    server.call(lambda: [store.insert(r) for r in rows])

    recent = softswitch(server, "cdr", "--since", "1h", token=token)
    assert recent.returncode == 0, recent.stderr
    assert "CDRs: 2" in recent.stdout
    first = row(recent.stdout, "req-recent-1")
    assert "account_1" in first and "ANSWERED" in first and "0:01:05" in first
    assert "0:01:02" in first and "normal clearing" in first
    row(recent.stdout, "req-recent-2", "account_2", "agent hung up")
    assert "req-old" not in recent.stdout
    # the order is the table's: oldest first
    assert recent.stdout.index("req-recent-1") < recent.stdout.index("req-recent-2")

    week = softswitch(server, "cdr", "--since", "7d", "--account", "account_1", token=token)
    assert week.returncode == 0, week.stderr
    assert "req-old" in week.stdout and "req-recent-1" in week.stdout
    assert "req-recent-2" not in week.stdout
    dated = time.strftime("%Y-%m-%d", time.gmtime(now + 86400))
    none = softswitch(server, "cdr", "--since", dated, token=token)
    assert none.stdout.strip() == "no CDRs in that window"

    bad = softswitch(server, "cdr", "--since", "yesterday", token=token)
    assert bad.returncode == 2 and "give a time ago" in bad.stderr


def test_wrong_or_missing_token_and_no_switch(server, token):
    wrong = softswitch(server, "status", token="not-a-token")
    assert wrong.returncode == 1
    assert "401: invalid admin token" in wrong.stderr
    missing = softswitch(server, "calls")
    assert missing.returncode == 1 and "admin token is needed" in missing.stderr
    gone = softswitch(server, "status", token=token, SOFTSWITCH_URL="http://127.0.0.1:9")
    assert gone.returncode == 1 and "cannot reach the switch" in gone.stderr


def test_import_numbers_and_a_contact_list(server, tmp_path):
    numbers = tmp_path / "numbers.csv"
    numbers.write_text(
        "number,destination,closed,hours\n"
        "+15550100,extension:101,,\n"
        '+15550101,extension:102,extension:101,"{""time_zone"": ""UTC"", ""open"": '
        '[{""days"": [""mon""], ""start"": ""09:00"", ""end"": ""17:00""}]}"\n'
        "+15550102,ring_group:nobody,,\n"
    )
    auth = {"SOFTSWITCH_AUTH": "secret-one"}
    result = softswitch(server, "import", "numbers", str(numbers), "--account", "account_1", **auth)
    assert result.returncode == 1, result.stderr
    assert "2 of 3 numbers imported" in result.stdout
    assert "line 4 (+15550102): 400:" in result.stdout and "ring_group:nobody" in result.stdout
    listed = httpx.get(
        f"{server.url}/api/numbers",
        headers={"account": "account_1", "auth": "secret-one"},
        timeout=5,
    ).json()["response"]["result"]
    assert {n["number"]: n["destination"] for n in listed} == {
        "15550100": "extension:101",
        "15550101": "extension:102",
    }
    [timed] = [n for n in listed if n["number"] == "15550101"]
    assert timed["closed"] == "extension:101" and timed["hours"]["time_zone"] == "UTC"
    wrong = softswitch(
        server, "import", "numbers", str(numbers), "--account", "account_1", SOFTSWITCH_AUTH="no"
    )
    assert wrong.returncode == 1
    assert "0 of 3 numbers imported" in wrong.stdout
    assert "line 2 (+15550100): 401: invalid account or auth" in wrong.stdout

    contacts = tmp_path / "contacts.csv"
    lines = ["contact_name,contact_number,city"]
    lines += [f"Customer {i},+1 212 555 {i:04d},Berlin" for i in range(1200)]
    contacts.write_text("\n".join(lines) + "\n")
    made = softswitch(
        server,
        "import",
        "contacts",
        str(contacts),
        "--account",
        "account_2",
        "--list",
        "december",
        **{"SOFTSWITCH_AUTH": "secret-two"},
    )
    assert made.returncode == 0, made.stderr
    assert "1200 contacts imported into list" in made.stdout
    list_id = made.stdout.split("into list ")[1].split()[0]
    runtime = server.runtime
    stored = server.call(lambda: runtime.campaigns.lists.contacts(list_id))
    assert len(stored) == 1200
    assert stored[7].name == "Customer 7" and stored[7].number == "12125550007"
    assert stored[7].fields == {"city": "Berlin"}

    more = tmp_path / "more.csv"
    more.write_text("+1 212 555 9999\n")  # no header: a single column is the number
    added = softswitch(
        server, "import", "contacts", str(more), "--account", "account_2",
        "--list-id", list_id, SOFTSWITCH_AUTH="secret-two",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert server.call(lambda: runtime.campaigns.lists.count(list_id)) == 1201

    dnd = tmp_path / "dnd.csv"
    dnd.write_text("dnd_contact_name,dnd_contact_number\nAnn,12125550001\nBob,12125550002\n")
    blocked = softswitch(
        server, "import", "dnd", str(dnd), "--account", "account_2", "--list", "never",
        SOFTSWITCH_AUTH="secret-two",
    )  # fmt: skip
    assert blocked.returncode == 0, blocked.stderr
    assert "2 DND contacts imported into list" in blocked.stdout
    dnd_id = blocked.stdout.split("into list ")[1].split()[0]
    numbers_in = server.call(lambda: runtime.campaigns.lists.contacts(dnd_id))
    assert [(c.name, c.number) for c in numbers_in] == [
        ("Ann", "12125550001"),
        ("Bob", "12125550002"),
    ]

    broken = tmp_path / "broken.csv"
    broken.write_text("contact_number\n12125550100\nnot a number\n")
    refused = softswitch(
        server,
        "import",
        "contacts",
        str(broken),
        "--account",
        "account_2",
        "--list",
        "broken",
        SOFTSWITCH_AUTH="secret-two",
    )
    assert refused.returncode == 1
    assert "line 3" in refused.stderr and "nothing imported" in refused.stderr
