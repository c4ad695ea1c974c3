"""The admin API over real HTTP (the whole process): a baresip phone registers and
answers the keepalive pings (reachable), then is killed without unregistering and the
API shows its registration unreachable."""

from __future__ import annotations

import os
import signal

import httpx
import pytest

from softswitch.admin_tokens import create_admin_token
from softswitch.sip.transaction import Timers
from softswitch.store.admin_tokens import AdminTokenStore
from tests.peers.baresip import Baresip, BaresipAccount
from tests.peers.process import wait_until

pytestmark = pytest.mark.peers

# Short SIP timers: a silent device's OPTIONS times out after 64 * T1 = 1.6 s.
FAST = Timers(t1=0.025, t2=0.2, t4=0.2)


@pytest.fixture
def fast_server(server_factory):
    return server_factory(accounts={}, sip={"nat_keepalive": 1}, timers=FAST)


def test_a_registered_phone_is_reachable_until_it_is_gone(fast_server, phone_factory) -> None:
    assert fast_server.switch is not None
    store = fast_server.switch.store
    token = fast_server.call(lambda: create_admin_token(AdminTokenStore(store.db))).token
    url = f"{fast_server.url}/api/admin/extensions"
    auth = {"Authorization": f"Bearer {token}"}
    assert httpx.get(url, timeout=5).status_code == 401

    port = fast_server.config.sip_host_port[1]
    phone: Baresip = phone_factory(BaresipAccount("101", "pw101", registrar=f"127.0.0.1:{port}"))
    phone.wait_registered()

    def registrations() -> list[dict]:
        response = httpx.get(url, headers=auth, timeout=5)
        assert response.status_code == 200
        [ext] = [e for e in response.json()["extensions"] if e["number"] == "101"]
        return ext["registrations"]

    # a few keepalive rounds answered: still reachable
    sent = fast_server.call(lambda: fast_server.switch.keepalive.sent)
    wait_until(
        lambda: fast_server.call(lambda: fast_server.switch.keepalive.sent) >= sent + 2,
        10,
        what="two more keepalive pings",
    )
    [registration] = registrations()
    assert registration["reachable"] is True
    assert registration["transport"] == "udp"
    assert registration["source_host"] == "127.0.0.1"
    assert registration["source_port"] == phone.port
    assert f":{phone.port}" in registration["contact"]
    assert "baresip" in registration["user_agent"].lower()
    assert 0 < registration["expires_in"] <= 3600

    # SIGKILL: no un-REGISTER (SIGTERM would send one), the binding stays
    os.kill(phone.process.pid, signal.SIGKILL)
    phone.process.wait(5)
    gone = wait_until(
        lambda: [r for r in registrations() if r["reachable"] is False],
        10,
        what="the killed phone shown unreachable",
    )
    assert [r["contact"] for r in gone] == [registration["contact"]]
    one = httpx.get(f"{url}/101", headers=auth, timeout=5).json()
    assert one["registrations"][0]["reachable"] is False
