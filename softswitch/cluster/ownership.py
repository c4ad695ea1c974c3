"""Which node holds each live channel of the call service: a row in the shared store
(store.call_owners) from the channel's first state change to its hang-up, so that any
node can find where to send a command for it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..channel import Channel, ChannelEvent, ChannelState, Listener
from ..store.call_owners import CallOwners, Owner

if TYPE_CHECKING:
    from ..calls.live import LiveCall

log = logging.getLogger("softswitch.cluster")


class Ownership:
    def __init__(self, owners: CallOwners, me: Owner) -> None:
        self.owners = owners
        self.me = me

    def forget_previous_life(self) -> None:
        """Rows this node left when it last stopped without hanging up (a crash)."""
        dropped = self.owners.forget_node(self.me.node_id)
        if dropped:
            log.info("cluster: forgot %d channel(s) of this node's previous run", dropped)

    def listener(self, call: LiveCall) -> Listener:
        """The channel listener that keeps ``call``'s rows."""
        claimed: set[Channel] = set()

        def on_event(event: ChannelEvent) -> None:
            channel = event.channel
            try:
                if event.state == ChannelState.HUNGUP:
                    if channel in claimed:
                        claimed.discard(channel)
                        self.owners.release(call.account_id, channel.name, self.me.node_id)
                elif channel not in claimed:
                    claimed.add(channel)
                    self.owners.claim(call.account_id, channel.name, self.me, channel.created_at)
            except Exception:  # the store down must not break the call itself
                log.warning("cluster: owner row of %s not written", channel.name, exc_info=True)

        return on_event
