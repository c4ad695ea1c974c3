"""Parallel forking: an extension registered from several devices rings on all of them.

Each device gets its own INVITE (its own Call-ID, as a B2BUA dials each contact)
carrying the same SDP offer, so whichever device answers lands on the channel's one
RTP session. The first 2xx wins and the other devices are cancelled; a 2xx that
crosses our CANCEL is acknowledged and sent a BYE by ``OutgoingInvite`` itself.

When every device fails, the status reported follows RFC 3261 16.7 as a PBX user
expects it: a 6xx (someone declined everywhere) first, then busy, then the lowest
class, so that "busy on the desk phone, not answering on the mobile" reads busy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from .sip.errors import SipError
from .sip.invite import OutgoingInvite
from .sip.message import Response

log = logging.getLogger("softswitch.forking")

# Enough for a desk phone, a softphone and a mobile; bounds what one call can cost.
MAX_FORKS = 8


class AllForksFailed(SipError):
    """Every fork ended in a transport error (none gave a SIP response)."""


class NoAnswer(SipError):
    """Given up: the ring timeout passed and some device never even said it was ringing."""


async def first_answer(
    invites: list[OutgoingInvite], stop: asyncio.Future[Any] | None = None
) -> tuple[OutgoingInvite, Response]:
    """Run every fork; return the first fork to answer (2xx) and its response.

    Without an answer, return the fork whose failure best describes the call. The
    forks that lose keep running in the background until their CANCEL completes.
    `stop` done means waiting is over: a device that never sent a provisional response
    cannot be cancelled (RFC 3261 9.1) and would hold the caller until Timer B, 32 s,
    so the unfinished forks are left to end on their own and NoAnswer is raised.
    """
    tasks: dict[asyncio.Future[Response], OutgoingInvite] = {
        asyncio.ensure_future(invite.run()): invite for invite in invites
    }
    for task in tasks:
        task.add_done_callback(_quiet)
    failures: list[tuple[OutgoingInvite, Response]] = []
    errors: list[BaseException] = []
    pending: set[asyncio.Future[Response]] = set(tasks)
    try:
        while pending:
            waiting: set[asyncio.Future[Any]] = pending | {stop} if stop is not None else pending
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            for task in done - {stop}:
                pending.discard(task)
                error = task.exception()
                if error is not None:
                    errors.append(error)
                    continue
                invite, response = tasks[task], task.result()
                if 200 <= response.status < 300 or response.status >= 600:
                    _cancel(tasks[t] for t in pending)
                    return invite, response
                failures.append((invite, response))
            if stop is not None and stop in done and pending:
                _cancel(tasks[t] for t in pending)
                raise NoAnswer(f"{len(pending)} of {len(invites)} devices never answered")
    except asyncio.CancelledError:
        _cancel(tasks.values())
        raise
    if not failures:
        raise AllForksFailed(f"no device answered: {errors[0] if errors else 'no response'}")
    return min(failures, key=lambda failure: _rank(failure[1].status))


def _rank(status: int) -> tuple[int, int]:
    if status == 486:
        return (0, status)  # busy beats "not answering" and "unavailable"
    return (status // 100, status)


def _cancel(invites: Iterable[OutgoingInvite]) -> None:
    for invite in invites:
        asyncio.ensure_future(invite.cancel()).add_done_callback(_quiet)


def _quiet(task: asyncio.Future[Any]) -> None:
    # A losing fork's failure is expected and says nothing about the call.
    if not task.cancelled() and task.exception() is not None:
        log.debug("fork ended: %s", task.exception())
