"""A live-call command for a channel another node holds, sent to that node's API.

The node that gets modify_call tries its own calls first; if the channel is not there,
the store's owner row (softswitch.cluster.ownership) names the node holding it, and the
command goes to that node's `/cluster/modify_call`, signed with the cluster's secret
(HMAC-SHA256 over the timestamp and the body, the webhooks' scheme: a replay older than
`TOLERANCE` seconds is refused, the comparison is constant-time). The owner answers with
the outcome, turned back here into the same domain errors a local call raises, so the
API answers alike wherever the call is. A node that cannot be reached has gone: its
rows are dropped and the channel is not found.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from ..calls.errors import (
    AlreadyRecording,
    BadTransferTarget,
    CallControlError,
    ChannelNotFound,
    NotBridged,
)
from ..store.call_owners import CallOwners, Owner
from ..webhooks.signing import SignatureError, header_value, verify

log = logging.getLogger("softswitch.cluster")

PATH = "/cluster/modify_call"  # node to node, beside the documented APIs
HEADER = "Softswitch-Cluster-Signature"
TOLERANCE = 30  # seconds a signed request stays valid (the nodes' clocks are in NTP sync)
TIMEOUT = 10.0  # seconds the owner has to do it (a transfer returns once it is dialed)

Modify = Callable[[str, str, Any, str | None], Awaitable[None]]


class ClusterAuthError(Exception):
    """A node-to-node request without a valid signature."""


def sign(secret: str, body: bytes, now: float | None = None) -> str:
    return header_value(secret, int(time.time() if now is None else now), body)


def check(secret: str, header: str | None, body: bytes, now: float | None = None) -> None:
    """What the owner does before acting on a forwarded command."""
    if not header:
        raise ClusterAuthError("no signature")
    try:
        verify(secret, header, body, time.time() if now is None else now, TOLERANCE)
    except SignatureError as exc:
        raise ClusterAuthError(str(exc)) from None


def outcome(error: CallControlError | None) -> dict[str, Any]:
    """The owner's answer: what happened, in a form `raise_outcome` turns back."""
    if error is None:
        return {"ok": True}
    reply: dict[str, Any] = {"ok": False, "message": str(error)}
    if isinstance(error, ChannelNotFound):
        reply |= {"error": "not_found", "channel": error.channel}
    elif isinstance(error, NotBridged):
        reply |= {"error": "not_bridged", "channel": error.channel}
    elif isinstance(error, AlreadyRecording):
        reply |= {"error": "already_recording"}
    elif isinstance(error, BadTransferTarget):
        reply |= {"error": "bad_target", "number": error.number, "reason": error.reason}
    else:
        reply |= {"error": "refused"}
    return reply


def raise_outcome(reply: dict[str, Any], channel: str) -> None:
    if reply.get("ok") is True:
        return
    kind = reply.get("error")
    if kind == "not_found":
        raise ChannelNotFound(str(reply.get("channel", channel)))
    if kind == "not_bridged":
        raise NotBridged(str(reply.get("channel", channel)))
    if kind == "already_recording":
        raise AlreadyRecording()
    if kind == "bad_target":
        number = reply.get("number")
        raise BadTransferTarget(None if number is None else str(number), str(reply["reason"]))
    raise CallControlError(str(reply.get("message", "refused by the node holding the call")))


class Forwarder:
    """modify_call for the whole cluster: here if the call is here, else at its owner."""

    def __init__(self, local: Modify, owners: CallOwners, me: Owner, secret: str) -> None:
        self.local = local
        self.owners = owners
        self.me = me
        self.secret = secret
        self._client = httpx.AsyncClient(timeout=TIMEOUT)
        self.forwarded = 0  # commands sent to another node (for tests and logs)

    async def modify(
        self, account_id: str, channel: str, action: Any, number: str | None = None
    ) -> None:
        try:
            await self.local(account_id, channel, action, number)
            return
        except ChannelNotFound:
            owner = self.owners.owner(account_id, channel.strip())
            if owner is None or owner.node_id == self.me.node_id:
                raise
        await self._forward(owner, account_id, channel.strip(), action, number)

    async def _forward(
        self, owner: Owner, account_id: str, channel: str, action: Any, number: str | None
    ) -> None:
        body = json.dumps(
            {"account_id": account_id, "channel": channel, "action": int(action), "number": number}
        ).encode()
        self.forwarded += 1
        try:
            response = await self._client.post(
                owner.node_url + PATH,
                content=body,
                headers={HEADER: sign(self.secret, body), "Content-Type": "application/json"},
            )
        except httpx.ConnectError as exc:
            dropped = self.owners.forget_node(owner.node_id)
            log.warning(
                "cluster: node %s (%s) is gone (%s): forgot its %d channel(s)",
                owner.node_id,
                owner.node_url,
                exc,
                dropped,
            )
            raise ChannelNotFound(channel) from None
        except httpx.HTTPError as exc:
            log.warning("cluster: %s for %s failed at node %s: %s", action, channel, owner, exc)
            raise ChannelNotFound(channel) from None
        if response.status_code != 200:
            log.warning(
                "cluster: node %s refused %s for %s: %d",
                owner,
                action,
                channel,
                response.status_code,
            )
            raise CallControlError(f"the node holding {channel} refused the command")
        log.info(
            "cluster: %s for %s done at node %s",
            getattr(action, "name", action),
            channel,
            owner.node_id,
        )
        raise_outcome(response.json(), channel)

    async def close(self) -> None:
        await self._client.aclose()
