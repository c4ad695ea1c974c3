"""Two switch nodes (separate processes, one shared store) behind the shipped Kamailio
front door (deploy/kamailio/softswitch-front.cfg), with two baresip phones registered
through it: calls placed by either node's API reach the phones through the proxy (the
Path of their registration), either node lists a call the other holds and a live-call
command sent to one node acts on it, and a node stopped mid-day leaves the phones
working through the other.

The module shares one cluster; the last tests stop node A (drained), then restart and
kill it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.e2e.talk import assert_heard
from tests.peers.audio import make_tone_wav
from tests.peers.baresip import Baresip, BaresipAccount
from tests.peers.fixtures import require_programs
from tests.peers.kamailio_front import KamailioFront
from tests.peers.ports import PortPicker
from tests.peers.postgres import PostgresServer
from tests.peers.process import wait_until
from tests.peers.switch_nodes import SwitchNode, cluster_store

AGENT, CUSTOMER = "101", "102"
AGENT_TONE, CUSTOMER_TONE = 440.0, 1000.0


@dataclass
class Cluster:
    front: KamailioFront
    a: SwitchNode
    b: SwitchNode
    agent: Baresip
    customer: Baresip
    carrier_port: int  # where the carrier's calls come from (a trunk of every node)


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory,
    peer_ports: PortPicker,
    rtp_ports: PortPicker,
    postgres_server: PostgresServer,
) -> Iterator[Cluster]:
    require_programs("kamailio", "kamcmd", "baresip")
    folder = tmp_path_factory.mktemp("cluster")
    stops: list[object] = []
    try:
        front_port, carrier_port = peer_ports.port(), peer_ports.port()
        carrier = {"name": "carrier", "host": f"127.0.0.1:{carrier_port}", "register": False}
        store = cluster_store(postgres_server)
        nodes = []
        for name in ("node-a", "node-b"):
            rtp_first = rtp_ports.block(100)
            stops.append(lambda first=rtp_first: rtp_ports.release(first, 100))
            nodes.append(
                SwitchNode(
                    folder / name,
                    name,
                    sip_port=peer_ports.port(),
                    api_port=peer_ports.port(),
                    rtp_first=rtp_first,
                    front_door="127.0.0.1",
                    store=store,
                    extensions={AGENT: "pw101", CUSTOMER: "pw102"},
                    trunks=[carrier],
                    drain_timeout=30,
                )
            )
        a, b = nodes
        front = KamailioFront(folder / "front", front_port, [a.sip_address, b.sip_address])
        front.start()
        stops.append(front.stop)
        # one after the other: the first creates the shared store's schema
        for node in nodes:
            node.start()
            stops.append(node.stop)
            front.wait_node(node.sip_address, active=True)
        phones = []
        for number, tone in ((AGENT, AGENT_TONE), (CUSTOMER, CUSTOMER_TONE)):
            work = folder / f"phone-{number}"
            work.mkdir()
            phone = Baresip(
                work,
                BaresipAccount(number, f"pw{number}", registrar=front.address),
                peer_ports.block(10),
                make_tone_wav(work / "mic.wav", tone, 60.0),
            )
            phone.start()
            stops.append(phone.stop)
            phones.append(phone)
        for phone in phones:
            phone.wait_registered()
        yield Cluster(front, a, b, *phones, carrier_port)
    finally:
        for stop in reversed(stops):
            stop()  # type: ignore[operator]


def wait_heard(phone: Baresip, seconds: float) -> None:
    """Until the phone's dump of what it hears holds ``seconds`` of audio (it grows as
    RTP arrives)."""
    wait_until(
        lambda: (found := phone.recordings("dec")) and found[-1].stat().st_size > 16000 * seconds,
        seconds + 5,
        what=f"{seconds} s of audio at {phone.name}",
    )


def click2call(node: SwitchNode) -> str:
    data = node.api(
        "POST",
        "/api/click2call",
        {"agent_number": AGENT, "caller_id": "15168148111", "destination_number": CUSTOMER},
    )
    assert data["response"]["success"] == "true", data
    return str(data["response"]["request_id"])


def live_rows(node: SwitchNode) -> list[dict]:
    return node.api("GET", "/api/live_calls")["response"]["result"]


def agent_channel(node: SwitchNode) -> str:
    return next(r["channel"] for r in live_rows(node) if r["channel"].startswith(f"SIP/{AGENT}-"))


def hang_up_at(node: SwitchNode, channel: str) -> dict:
    return node.api("POST", "/api/modify_call", {"channel": channel, "modify_type": "2"})


def test_calls_placed_by_either_node_reach_the_phones_through_the_front_door(cluster):
    for node in (cluster.a, cluster.b):
        click2call(node)
        cluster.agent.wait_call_established()
        cluster.customer.wait_call_established()
        # media stays anchored in the node: each phone gets the other's audio from it
        cluster.agent.wait_rtp()
        cluster.customer.wait_rtp()
        wait_heard(cluster.customer, seconds=1.5)
        cluster.agent.hangup()
        cluster.agent.wait_call_closed()
        assert cluster.customer.wait_call_closed().reason  # the node relayed the BYE
        routed = cluster.front.log_lines("TO-PHONE")
        assert any(f"from {node.sip_address}" in line for line in routed), routed
    assert_heard(cluster.customer, AGENT_TONE)


def test_hangup_sent_to_one_node_ends_a_call_the_other_holds(cluster):
    click2call(cluster.a)
    cluster.agent.wait_call_established()
    cluster.customer.wait_call_established()
    channel = agent_channel(cluster.a)
    # node B lists and counts it too: it asks every live node for its calls
    listed = cluster.b.api("GET", "/api/live_calls")["response"]["result"]
    assert {r["channel"] for r in listed} == {r["channel"] for r in live_rows(cluster.a)}
    assert channel in {r["channel"] for r in listed}, listed
    counted = cluster.b.api("GET", "/api/get_live_call_statistics")["response"]["result"]
    assert counted["live_calls_c2c"] == 1, counted
    # node B does not hold it: it finds the owner in the store and forwards the command
    record = {"channel": channel, "modify_type": "3"}
    data = cluster.b.api("POST", "/api/modify_call", record)
    assert data["response"]["message"] == "call recording started successfully", data
    again = cluster.b.api("POST", "/api/modify_call", record)  # the owner's own refusal
    assert again["response"]["message"] == "call is already being recorded", again
    data = hang_up_at(cluster.b, channel)
    assert data["response"] == {"message": "call hangup successfully", "success": "true"}
    assert cluster.agent.wait_call_closed().reason
    assert cluster.customer.wait_call_closed().reason
    # a channel no node holds: the spec's not-found, from either node
    for node in (cluster.a, cluster.b):
        gone = hang_up_at(node, channel)
        assert gone["response"]["success"] == "false" and "not found" in str(gone), gone


def test_a_carriers_call_through_the_front_door_is_the_trunks(cluster, sipp):
    # no digest challenge: the node knows the trunk by the source the front door names
    result = sipp.run(
        "uac_auth_call.xml",
        cluster.front.address,
        port=cluster.carrier_port,
        service=AGENT,
        duration_ms=500,
    )
    assert result.ok, result.describe()
    cluster.agent.wait_call_established()
    cluster.agent.wait_call_closed()


def test_a_node_stopped_mid_day_drains_then_leaves_the_phones_working(cluster):
    click2call(cluster.a)
    cluster.agent.wait_call_established()
    cluster.customer.wait_call_established()
    ended = len(cluster.agent.events_of("call_end"))
    # SIGTERM: node A answers the front door's probes 503 and gets no new calls, while
    # the call it holds goes on until the phone hangs up
    cluster.a.terminate()
    cluster.front.wait_node(cluster.a.sip_address, active=False)
    assert cluster.a.process.alive
    assert len(cluster.agent.events_of("call_end")) == ended, "the call was cut"
    cluster.agent.hangup()
    cluster.agent.wait_call_closed()
    cluster.customer.wait_call_closed()
    assert cluster.a.process.wait(10) == 0
    # a phone's call: the front door sends it to node B, no re-registration needed
    cluster.agent.dial(f"sip:{CUSTOMER}@{cluster.front.address}")
    cluster.customer.wait_call_established()
    cluster.agent.wait_call_established()
    dispatched = cluster.front.log_lines("DISPATCH")[-1]
    assert f"sip:{cluster.b.sip_address}" in dispatched, dispatched
    cluster.customer.hangup()
    cluster.customer.wait_call_closed()
    cluster.agent.wait_call_closed()
    # and node B's API still calls them
    click2call(cluster.b)
    cluster.agent.wait_call_established()
    cluster.customer.wait_call_established()
    hang_up_at(cluster.b, agent_channel(cluster.b))
    cluster.agent.wait_call_closed()
    cluster.customer.wait_call_closed()


def test_a_node_that_dies_loses_its_calls_and_the_others_forget_them(cluster):
    cluster.a.restart()
    cluster.front.wait_node(cluster.a.sip_address, active=True)
    click2call(cluster.a)
    cluster.agent.wait_call_established()
    cluster.customer.wait_call_established()
    channel = agent_channel(cluster.a)
    cluster.a.kill()
    cluster.front.wait_node(cluster.a.sip_address, active=False)  # its probes go unanswered
    # its call cannot be reached any more: not found, and its rows are dropped
    gone = hang_up_at(cluster.b, channel)
    assert gone["response"]["success"] == "false" and "not found" in str(gone), gone
    assert "is gone" in cluster.b.log_text()
    # node B's listing leaves the dead node out instead of waiting for it
    assert channel not in {r["channel"] for r in live_rows(cluster.b)}
    for phone in (cluster.agent, cluster.customer):
        phone.hangup()
        phone.wait_call_closed()
    # the phones go on through node B
    click2call(cluster.b)
    cluster.agent.wait_call_established()
    cluster.customer.wait_call_established()
    hang_up_at(cluster.b, agent_channel(cluster.b))
    cluster.agent.wait_call_closed()
    cluster.customer.wait_call_closed()


def test_the_shipped_configuration_passes_kamailios_check(tmp_path, peer_ports):
    require_programs("kamailio")
    front = KamailioFront(tmp_path, peer_ports.port(), ["127.0.0.1:5060", "127.0.0.1:5062"])
    front.check_config()
