"""Ringing a ring group for a caller who is up (answered, hearing ringback): all members
at once, or one after another, within the group's overall timeout. The first member to
answer is bridged with the caller; the others are cancelled."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..channel import Channel, ChannelState
from ..ringgroups import RingGroup, Strategy
from ..switch import CANCEL_GRACE, SwitchError
from .legs import Legs
from .live import LiveCall

log = logging.getLogger("softswitch.calls.ringing")


class RingGroups:
    def __init__(self, legs: Legs) -> None:
        self.legs = legs

    async def ring(self, call: LiveCall, holder: Channel, group: RingGroup) -> bool:
        """Ring ``group`` for ``holder``; True once a member answered and was bridged
        (returns when that call is over), False when nobody answered in time."""
        holding = self.legs.hold(holder)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + group.timeout
        winner: Channel | None = None
        try:
            if group.strategy is Strategy.SIMULTANEOUS:
                winner = await self._first(call, holder, group.members, group.timeout)
            else:
                for member in group.members:
                    left = deadline - loop.time()
                    if left <= 0 or holder.state != ChannelState.UP:
                        break
                    winner = await self._first(
                        call, holder, [member], min(group.member_timeout, left)
                    )
                    if winner is not None:
                        break
        finally:
            holding.stop()
        if winner is None:
            log.info("ring group %s: nobody answered for %s", group.id, holder.name)
            return False
        if holder.state != ChannelState.UP:
            await winner.hangup("caller hung up")
            return False
        log.info("ring group %s: %s answered for %s", group.id, winner.name, holder.name)
        self.legs.bridge(call, holder, winner)
        await winner.hungup
        return True

    async def _first(
        self, call: LiveCall, holder: Channel, members: list[str], timeout: float
    ) -> Channel | None:
        """Ring ``members`` for ``timeout`` s; the first to answer (the rest hung up)."""
        legs: list[Channel] = []
        for member in members:
            try:
                channel = await self.legs.switch.originate(
                    member, caller_id=call.caller_id or None, timeout=timeout
                )
            except SwitchError as exc:
                log.info("ring group member %s not rung: %s", member, exc.reason)
                continue
            call.add(channel)
            legs.append(channel)
        if not legs:
            return None
        answers: dict[asyncio.Future[Any], Channel] = {
            asyncio.ensure_future(c.wait(ChannelState.UP)): c for c in legs
        }
        gone = asyncio.ensure_future(asyncio.shield(holder.hungup))
        pending: set[asyncio.Future[Any]] = {*answers, gone}
        winner: Channel | None = None
        try:
            # each leg gives up after `timeout` itself; the grace covers a silent device
            deadline = asyncio.get_running_loop().time() + timeout + CANCEL_GRACE
            while winner is None and gone in pending and pending - {gone}:
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    break
                done, pending = await asyncio.wait(
                    pending, timeout=left, return_when=asyncio.FIRST_COMPLETED
                )
                for task in done:
                    if task is not gone and task.result() is not None:
                        winner = answers[task]
                        break
        finally:
            for task in pending:
                task.cancel()
        for channel in legs:
            if channel is not winner and channel.state != ChannelState.HUNGUP:
                await channel.hangup("answered elsewhere" if winner else "no answer")
        return winner
