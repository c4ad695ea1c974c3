"""Live calls across the cluster: the account's calls on every node, wherever the
request for them lands.

Each node's media stays where its calls are, so the registry of live calls is per node.
A node asked for a listing (`/api/live_calls`, the live statistics, the console) adds
what the other live nodes answer at `/cluster/live_calls`, signed with the cluster's
secret as forwarded commands are (softswitch.cluster.forwarding). Which nodes are live
comes from their heartbeats in the store (store.cluster_nodes), not from `call_owners`:
a node whose only calls came in from a trunk holds no controllable channel there. A
node that does not answer within `TIMEOUT` is left out of that listing (it is stopping
or gone; its heartbeat ends soon), so one dead node cannot hang the API.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import asdict
from typing import Any

import httpx

from ..calls.live import CallKind, LiveCalls, LiveChannel, LiveStatistics
from ..channel import ChannelState
from ..store.call_owners import Owner
from ..store.cluster_nodes import ClusterNodes
from .forwarding import HEADER, sign

log = logging.getLogger("softswitch.cluster")

PATH = "/cluster/live_calls"  # node to node, beside the documented APIs
HEARTBEAT = 5.0  # seconds between a node's heartbeats
ALIVE = 3 * HEARTBEAT  # a node not heard from for this long has gone
TIMEOUT = 2.0  # seconds another node has to list its calls


def channel_json(row: LiveChannel) -> dict[str, Any]:
    """A channel as nodes pass it: its fields as they are (the API's own JSON renames
    some and rounds the start time to an HTTP date)."""
    return asdict(row)  # the enums are str: they go out as their values


def channel_from_json(data: dict[str, Any]) -> LiveChannel:
    return LiveChannel(
        **{**data, "kind": CallKind(data["kind"]), "state": ChannelState(data["state"])}
    )


# what another node answered: its channels of the account, and their counts
Listed = tuple[list[LiveChannel], LiveStatistics]


def local_json(calls: LiveCalls, account_id: str) -> dict[str, Any]:
    """What a node answers at PATH: its own calls of the account, and their counts."""
    return {
        "channels": [channel_json(row) for row in calls.listing(account_id)],
        "statistics": asdict(calls.statistics(account_id)),
    }


class ClusterListing:
    """`listing` and `statistics` for the whole cluster, and this node's heartbeat."""

    def __init__(
        self,
        calls: LiveCalls,
        nodes: ClusterNodes,
        me: Owner,
        secret: str,
        mounts: dict[str, httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        """``mounts``: httpx transports by URL prefix (tests serve a node in process)."""
        self.calls = calls
        self.nodes = nodes
        self.me = me
        self.secret = secret
        self._client = httpx.AsyncClient(timeout=TIMEOUT, mounts=mounts)
        self._heartbeat: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.nodes.beat(self.me, time.time())  # listed by the others from now on
        self._heartbeat = asyncio.create_task(self._beat(), name="cluster-heartbeat")

    async def stop(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
            self._heartbeat = None
        try:
            self.nodes.leave(self.me.node_id)
        except Exception:  # the store gone first: the row just ages out (ALIVE)
            log.exception("cluster: could not remove this node's heartbeat")
        await self._client.aclose()

    async def listing(self, account_id: str) -> list[LiveChannel]:
        rows = self.calls.listing(account_id)
        for channels, _ in await self._others(account_id):
            rows += channels
        return rows

    async def statistics(self, account_id: str) -> LiveStatistics:
        counts = [self.calls.statistics(account_id)]
        counts += [stats for _, stats in await self._others(account_id)]
        return LiveStatistics(
            c2c=sum(c.c2c for c in counts),
            campaign=sum(c.campaign for c in counts),
            inbound=sum(c.inbound for c in counts),
            otp=sum(c.otp for c in counts),
        )

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT)
            try:
                self.nodes.beat(self.me, time.time())
            except Exception:  # the store away for a moment: the next beat tries again
                log.exception("cluster: heartbeat not written")

    async def _others(self, account_id: str) -> list[Listed]:
        since = time.time() - ALIVE
        others = [n for n in self.nodes.alive(since) if n.node_id != self.me.node_id]
        if not others:
            return []
        body = json.dumps({"account_id": account_id}).encode()
        replies = await asyncio.gather(*(self._ask(node, body) for node in others))
        return [reply for reply in replies if reply is not None]

    async def _ask(self, node: Owner, body: bytes) -> Listed | None:
        try:
            response = await self._client.post(
                node.node_url + PATH,
                content=body,
                headers={HEADER: sign(self.secret, body), "Content-Type": "application/json"},
            )
            response.raise_for_status()
            reply = response.json()
            channels = [channel_from_json(row) for row in reply["channels"]]
            stats = LiveStatistics(**{k: int(v) for k, v in reply["statistics"].items()})
        except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning(
                "cluster: node %s (%s) did not list its calls: %s", node.node_id, node.node_url, exc
            )
            return None
        return channels, stats
