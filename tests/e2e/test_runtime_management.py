"""Extensions and trunks managed while the switch runs, as an operator does it: the
`softswitch extensions` command (a subprocess, over the admin API) and the admin API,
against a whole running switch with baresip phones and kamailio as the carrier. Nothing
is restarted, and a call between 101 and 102 goes on throughout."""

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
from tests.peers.baresip import BaresipAccount
from tests.peers.kamailio import company_carrier, company_trunk
from tests.peers.process import wait_until

pytestmark = pytest.mark.peers

SOFTSWITCH = str(Path(sys.executable).parent / "softswitch")  # the installed command
OUTSIDE = "5551000"  # a customer of the carrier


def admin_token(harness) -> str:
    store = harness.switch.store
    return harness.call(lambda: create_admin_token(AdminTokenStore(store.db))).token


def softswitch(harness, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "SOFTSWITCH_URL": harness.url,
        "SOFTSWITCH_ADMIN_TOKEN": token,
        "COLUMNS": "250",
    }
    return subprocess.run(
        [SOFTSWITCH, *args], env=environ, capture_output=True, text=True, timeout=60
    )


def media_counts(harness) -> list[int]:
    """RTP packets received so far by each leg of the switch's bridged calls."""
    switch = harness.switch
    return harness.call(
        lambda: sorted(
            (c.name, c.rtp.packets_received) for c in switch.channels if c.bridged is not None
        )
    )


def assert_media_flows(harness) -> None:
    before = media_counts(harness)
    assert len(before) == 2, before  # 101 <-> 102, still bridged
    time.sleep(0.5)
    after = media_counts(harness)
    assert [name for name, _ in after] == [name for name, _ in before]
    assert all(b[1] > a[1] for a, b in zip(before, after, strict=True)), (before, after)


def test_an_extension_added_reset_and_removed_while_a_call_goes_on(
    server_factory, phone_factory
) -> None:
    # 101 and 102 from the config file; short registrations: 103's phone refreshes soon
    harness = server_factory(sip={"min_expires": 4})
    token = admin_token(harness)
    registrar = f"127.0.0.1:{harness.config.sip_host_port[1]}"
    desk = phone_factory(BaresipAccount("101", "pw101", registrar=registrar), tone_hz=900.0)
    other = phone_factory(BaresipAccount("102", "pw102", registrar=registrar), tone_hz=1300.0)
    desk.wait_registered()
    other.wait_registered()
    desk.dial(f"sip:102@{registrar}")
    other.wait_call_established()
    desk.wait_call_established()

    added = softswitch(harness, token, "extensions", "add", "103", "--name", "Reception")
    assert added.returncode == 0, added.stderr
    password = added.stdout.split("password: ")[1].split()[0]
    listed = softswitch(harness, token, "extensions", "list")
    assert listed.returncode == 0 and "Reception" in listed.stdout, listed.stderr
    again = softswitch(harness, token, "extensions", "add", "103")
    assert again.returncode == 1 and "409: number: extension 103 exists" in again.stderr

    new = phone_factory(
        BaresipAccount("103", password, registrar=registrar, answermode="auto", regint=4),
        tone_hz=700.0,
    )
    new.wait_registered()
    # 101's second device (its softphone, say) calls the new extension
    soft = phone_factory(BaresipAccount("101", "pw101", registrar=registrar), tone_hz=500.0)
    soft.wait_registered()
    soft.dial(f"sip:103@{registrar}")
    new.wait_call_established()
    soft.wait_call_established()
    soft.hangup()
    soft.wait_call_closed()
    new.wait_call_closed()

    reset = softswitch(harness, token, "extensions", "reset", "103")
    assert reset.returncode == 0, reset.stderr
    assert password not in reset.stdout
    assert harness.call(lambda: harness.switch.store.bindings("103")) == []  # unbound at once
    new.wait_register_failed()  # its next REGISTER (a refresh), with the old password
    assert harness.call(lambda: harness.switch.store.bindings("103")) == []

    removed = softswitch(harness, token, "extensions", "remove", "103")
    assert removed.returncode == 0, removed.stderr
    shown = httpx.get(
        f"{harness.url}/api/admin/extensions/103",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert shown.status_code == 404
    soft.dial(f"sip:103@{registrar}")
    closed = soft.wait_call_closed()
    assert closed.reason is not None and "404" in closed.reason

    assert_media_flows(harness)  # the first call went on throughout
    desk.hangup()
    desk.wait_call_closed()
    other.wait_call_closed()


@pytest.fixture
def carrier(tmp_path, ports):
    """Started before (so stopped after) the switch: it answers the trunk's un-REGISTER."""
    with company_carrier(tmp_path / "carrier", ports, OUTSIDE) as made:
        yield made


def test_a_trunk_added_by_api_registers_carries_a_call_and_unregisters_when_removed(
    carrier, server_factory, phone_factory
) -> None:
    kamailio, switch_port = carrier
    harness = server_factory(sip={"listen": f"127.0.0.1:{switch_port}"})
    token = admin_token(harness)
    headers = {"Authorization": f"Bearer {token}"}
    api = f"{harness.url}/api/admin"
    assert not kamailio.registered("trunkuser")

    bad = httpx.post(
        f"{api}/trunks",
        json={**company_trunk(kamailio), "host": "no-such-carrier.invalid"},
        headers=headers,
        timeout=30,
    )
    assert bad.status_code == 400, bad.text
    assert bad.json()["error"]["message"].startswith("host: no-such-carrier.invalid")

    made = httpx.post(f"{api}/trunks", json=company_trunk(kamailio), headers=headers, timeout=10)
    assert made.status_code == 200, made.text
    assert made.json()["password_set"] and "password" not in made.json()
    kamailio.wait_registered("trunkuser")
    changed = httpx.patch(
        f"{api}/extensions/101",
        json={"outside_caller_id": "4930101", "codecs": ["pcma"], "name": "Front desk"},
        headers=headers,
        timeout=5,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["outside_caller_id"] == "4930101" and changed.json()["codecs"] == ["PCMA"]

    registrar = f"127.0.0.1:{switch_port}"
    desk = phone_factory(
        BaresipAccount("101", "pw101", registrar=registrar, audio_codecs="PCMU,PCMA"),
        tone_hz=900.0,
    )
    customer = phone_factory(
        BaresipAccount(OUTSIDE, "outpw", registrar=kamailio.address, answermode="auto"),
        tone_hz=500.0,
    )
    desk.wait_registered()
    customer.wait_registered()
    desk.dial(f"sip:{OUTSIDE}@{registrar}")
    customer.wait_call_established()
    desk.wait_call_established()
    [answered] = customer.events_of("established")
    assert "4930101@" in answered.fields["peer"]  # the extension's outside caller ID
    sent = harness.call(
        lambda: [
            str(c.session.request.headers.get("From"))
            for c in harness.switch.channels
            if c.endpoint.kind == "trunk"
        ]
    )
    assert len(sent) == 1 and sent[0].startswith('"Front desk" <sip:4930101@'), sent  # its name
    legs = httpx.get(f"{api}/calls", headers=headers, timeout=5).json()["calls"]
    # the phone offers PCMU first: 101's leg answers with the one codec it may use
    assert {c["endpoint_name"]: c["codec"] for c in legs} == {"101": "PCMA", "carrier": "PCMU"}

    def trunk_registers() -> list[str]:
        return [line for line in kamailio.log_lines("REGISTERED") if "trunkuser" in line]

    before = len(trunk_registers())
    patched = httpx.patch(
        f"{api}/trunks/carrier", json={"expires": 120}, headers=headers, timeout=10
    )
    assert patched.status_code == 200 and patched.json()["expires"] == 120, patched.text
    # changed: unregistered, then registered with the new settings
    wait_until(lambda: len(trunk_registers()) >= before + 2, 10)
    assert "expires 0 " in trunk_registers()[before]
    assert "expires 120 " in trunk_registers()[before + 1]
    assert_media_flows(harness)  # the call through it goes on

    removed = httpx.delete(f"{api}/trunks/carrier", headers=headers, timeout=10)
    assert removed.status_code == 200, removed.text
    wait_until(lambda: not kamailio.registered("trunkuser"), 10)  # it unregistered
    time.sleep(0.5)
    assert len(media_counts(harness)) == 2  # the call through it goes on
    desk.hangup()
    desk.wait_call_closed()
    customer.wait_call_closed()
    listed = httpx.get(f"{api}/trunks", headers=headers, timeout=5).json()
    assert listed == {"trunks": []}


def test_voicemail_turned_off_and_on_at_run_time(server_factory, phone_factory) -> None:
    harness = server_factory(
        extension_options={"102": {"voicemail": True, "greeting": "Leave a message."}},
        sip={"ring_timeout": 2},
    )
    token = admin_token(harness)
    headers = {"Authorization": f"Bearer {token}"}
    registrar = f"127.0.0.1:{harness.config.sip_host_port[1]}"
    caller = phone_factory(BaresipAccount("101", "pw101", registrar=registrar), tone_hz=700.0)
    caller.wait_registered()

    off = httpx.patch(
        f"{harness.url}/api/admin/extensions/102",
        json={"voicemail": False},
        headers=headers,
        timeout=5,
    )
    assert off.status_code == 200 and off.json()["voicemail"] is False
    caller.dial(f"sip:102@{registrar}")  # 102 is not registered: no box takes the call
    assert caller.wait_call_closed().reason.startswith("480")

    on = httpx.patch(
        f"{harness.url}/api/admin/extensions/102",
        json={"voicemail": True},
        headers=headers,
        timeout=5,
    )
    assert on.status_code == 200 and on.json()["voicemail"] is True
    caller.dial(f"sip:102@{registrar}")
    caller.wait_call_established()  # answered by the box
    caller.hangup()
    caller.wait_call_closed()


def test_trunks_by_the_command(server_factory) -> None:
    harness = server_factory()
    token = admin_token(harness)
    added = softswitch(
        harness, token, "trunks", "add", "backup", "--host", "127.0.0.1:9", "--no-register",
        "--prefix", "49",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "trunk backup added (127.0.0.1:9): ip-auth" in added.stdout
    taken = softswitch(harness, token, "trunks", "add", "backup", "--host", "127.0.0.1:9")
    assert taken.returncode == 1 and "409: name: trunk backup exists" in taken.stderr
    nowhere = softswitch(
        harness, token, "trunks", "add", "x", "--host", "nowhere.invalid", "--no-register"
    )
    assert (
        nowhere.returncode == 1 and "400: host: nowhere.invalid does not resolve" in nowhere.stderr
    )
    changed = softswitch(harness, token, "trunks", "change", "backup", "--prefix", "1")
    assert changed.returncode == 0, changed.stderr
    listed = softswitch(harness, token, "trunks", "list")
    [line] = [row for row in listed.stdout.splitlines() if "backup" in row]
    assert "127.0.0.1:9" in line and " 1 " in line and "ip-auth" in line
    assert harness.call(lambda: [t.config.prefixes for t in harness.switch.trunks]) == [["1"]]
    removed = softswitch(harness, token, "trunks", "remove", "backup")
    assert removed.returncode == 0 and harness.call(lambda: harness.switch.trunks) == []
