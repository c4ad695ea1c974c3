"""Live calls across the cluster: which nodes are live (their heartbeats in the store),
what a node answers at /cluster/live_calls (the real route, served in process), and
how a node adds the others' calls to its own, leaving out one that does not answer."""

from __future__ import annotations

import logging
import socket
import time
from types import SimpleNamespace
from typing import cast

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from api import cluster as cluster_api
from api.context import AppContext
from softswitch.calls.live import CallKind, LiveCalls, LiveChannel, LiveStatistics
from softswitch.channel import ChannelState
from softswitch.cluster.forwarding import HEADER, sign
from softswitch.cluster.listing import (
    ALIVE,
    PATH,
    ClusterListing,
    channel_from_json,
    channel_json,
)
from softswitch.store import Store
from softswitch.store.call_owners import Owner
from softswitch.store.cluster_nodes import ClusterNodes

SECRET = "s" * 24
ACCOUNT = "account_1"
A = Owner("node-a", "http://node-a")
B = Owner("node-b", "http://node-b")


def channel(name: str, kind: CallKind = CallKind.C2C) -> LiveChannel:
    return LiveChannel(
        channel=name,
        request_id="r-" + name,
        kind=kind,
        state=ChannelState.UP,
        number="101",
        agent_number="101",
        customer_number="102",
        caller_id="15168148111",
        bridged_channel="SIP/102-00000002",
        started_at=1_780_000_000.25,
    )


class Registry:
    """A node's live-call registry as the listing reads it: listing and statistics."""

    def __init__(self, rows: list[LiveChannel], stats: LiveStatistics) -> None:
        self.rows = rows
        self.stats = stats

    def listing(self, account_id: str) -> list[LiveChannel]:
        return list(self.rows) if account_id == ACCOUNT else []

    def statistics(self, account_id: str) -> LiveStatistics:
        return self.stats if account_id == ACCOUNT else LiveStatistics()


def node_app(registry: Registry) -> Starlette:
    """Node B's /cluster routes, as its server mounts them."""
    ctx = SimpleNamespace(
        config=SimpleNamespace(cluster=SimpleNamespace(enabled=True, secret=SECRET)),
        calls=SimpleNamespace(calls=registry),
    )
    return Starlette(routes=cluster_api.routes(cast(AppContext, ctx)))


@pytest.fixture
def nodes(tmp_path):
    store = Store(tmp_path / "nodes.db")
    yield ClusterNodes(store.db)
    store.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_node_is_alive_while_it_beats_and_gone_when_it_leaves(nodes):
    nodes.beat(A, 1000.0)
    nodes.beat(B, 1000.0)
    nodes.beat(B, 1010.0)  # its row is written again, not added
    assert nodes.alive(since=1000.0) == [A, B]
    assert nodes.alive(since=1005.0) == [B]  # A's heartbeat stopped
    nodes.beat(Owner("node-b", "http://moved"), 1020.0)
    assert nodes.alive(since=0.0) == [A, Owner("node-b", "http://moved")]
    nodes.leave("node-a")
    assert nodes.alive(since=0.0) == [Owner("node-b", "http://moved")]


def test_a_channel_crosses_between_nodes_unchanged():
    row = channel("SIP/101-00000001", CallKind.CAMPAIGN)
    assert channel_from_json(channel_json(row)) == row


async def test_the_route_answers_only_a_signed_request():
    registry = Registry([channel("SIP/101-00000001")], LiveStatistics(c2c=1))
    transport = httpx.ASGITransport(app=node_app(registry))
    async with httpx.AsyncClient(transport=transport, base_url="http://node-b") as client:
        body = b'{"account_id": "account_1"}'
        for headers in ({}, {HEADER: sign("t" * 24, body)}):
            refused = await client.post(PATH, content=body, headers=headers)
            assert refused.status_code == 401
        bad = b'{"account": "account_1"}'
        assert (
            await client.post(PATH, content=bad, headers={HEADER: sign(SECRET, bad)})
        ).status_code == 400
        reply = (await client.post(PATH, content=body, headers={HEADER: sign(SECRET, body)})).json()
    assert [channel_from_json(r) for r in reply["channels"]] == registry.rows
    assert reply["statistics"] == {"c2c": 1, "campaign": 0, "inbound": 0, "otp": 0}


async def test_a_node_lists_the_other_nodes_calls_with_its_own(nodes, caplog):
    here = Registry([channel("SIP/101-00000001")], LiveStatistics(c2c=1))
    there = Registry(
        [channel("SIP/103-00000005", CallKind.OTP), channel("SIP/104-00000009", CallKind.INBOUND)],
        LiveStatistics(otp=1, inbound=1),
    )
    mounts = {B.node_url: httpx.ASGITransport(app=node_app(there))}
    listing = ClusterListing(cast(LiveCalls, here), nodes, A, SECRET, mounts=mounts)
    listing.start()  # A's own heartbeat: listed, but never asked
    nodes.beat(B, listing_now())
    gone = Owner("node-c", f"http://127.0.0.1:{closed_port()}")
    nodes.beat(gone, listing_now())  # stopped without leaving: it does not answer
    long_gone = Owner("node-d", "http://node-d")
    nodes.beat(long_gone, listing_now() - 2 * ALIVE)  # not heard from: not asked
    with caplog.at_level(logging.WARNING, logger="softswitch.cluster"):
        rows = await listing.listing(ACCOUNT)
        stats = await listing.statistics(ACCOUNT)
    assert [r.channel for r in rows] == [
        "SIP/101-00000001",
        "SIP/103-00000005",
        "SIP/104-00000009",
    ]
    assert stats == LiveStatistics(c2c=1, otp=1, inbound=1)
    assert await listing.listing("account_2") == []
    asked = [r.getMessage() for r in caplog.records]
    assert any("node-c" in m and "did not list its calls" in m for m in asked), asked
    assert not any("node-d" in m for m in asked), asked
    await listing.stop()
    assert [n.node_id for n in nodes.alive(since=0.0)] == ["node-b", "node-c", "node-d"]


def listing_now() -> float:
    return time.time()


async def test_a_node_answering_nonsense_is_left_out(nodes, caplog):
    async def garbled(request):
        return JSONResponse({"channels": [{"channel": "SIP/1-1"}], "statistics": {"c2c": 1}})

    here = Registry([channel("SIP/101-00000001")], LiveStatistics(c2c=1))
    app = Starlette(routes=[Route(PATH, garbled, methods=["POST"])])
    listing = ClusterListing(
        cast(LiveCalls, here), nodes, A, SECRET, mounts={B.node_url: httpx.ASGITransport(app=app)}
    )
    nodes.beat(B, time.time())
    with caplog.at_level(logging.WARNING, logger="softswitch.cluster"):
        assert [r.channel for r in await listing.listing(ACCOUNT)] == ["SIP/101-00000001"]
        assert await listing.statistics(ACCOUNT) == LiveStatistics(c2c=1)
    assert any("node-b" in r.getMessage() for r in caplog.records)
    await listing.stop()
