"""Reliable provisional responses (RFC 3262, the ``100rel`` extension): RSeq/RAck
bookkeeping for both sides of an INVITE.

The UAS side (``ReliableProvisionals``) numbers its 18x with RSeq, retransmits each one
(T1, doubling, no T2 cap: RFC 3262 3) until the PRACK naming it arrives, sends one at a
time, and tells its owner when it gave up (64*T1) so that the INVITE is failed with a 5xx.
The UAC side (``RSeqTracker``) decides which reliable 18x get a PRACK: the first of
each early dialog, then only the next RSeq; retransmissions and out-of-order ones are
neither acknowledged nor passed on (RFC 3262 4).

Policy for an INVITE that only says ``Supported: 100rel`` (not Require): we send
reliably the 18x that carry SDP (an early-media answer must not be lost, and the UAS
may not send its 2xx before that answer is PRACKed), and send a body-less 180
unreliably (losing one costs nothing: a retransmitted INVITE gets it again, and it
saves a PRACK round trip per ring).  ``Require: 100rel`` makes every 18x reliable.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from .grammar import digits
from .message import Request, Response
from .transaction import Timers

# The option tag (RFC 3262 10); the one place this module's callers name it.
OPTION_100REL = "100rel"


class PrackMode(StrEnum):
    """What our INVITEs say about 100rel (a trunk's ``prack`` setting).

    ``off``: nothing (the peer should then not send 18x reliably); ``supported``:
    ``Supported: 100rel``, the peer chooses; ``required``: ``Require: 100rel``, every 18x
    must come reliably (a peer without it answers 420).  Whatever we said, a reliable
    18x that arrives is PRACKed: a carrier that insists gets its PRACK.
    """

    OFF = "off"
    SUPPORTED = "supported"
    REQUIRED = "required"


def option_tags(message: Request | Response, header: str) -> set[str]:
    """The option tags of a Supported/Require header (all its lines), lower-cased."""
    return {tag.strip().lower() for tag in message.headers.get_all(header)}


def peer_stance(request: Request) -> PrackMode:
    """How the INVITE's sender stands on 100rel: required, supported or neither."""
    if OPTION_100REL in option_tags(request, "Require"):
        return PrackMode.REQUIRED
    if OPTION_100REL in option_tags(request, "Supported"):
        return PrackMode.SUPPORTED
    return PrackMode.OFF


def advertise(request: Request, mode: PrackMode) -> None:
    """Put our 100rel stance on an INVITE we send: the user agent's Supported (every
    tag of sip.options) keeps 100rel only when ``mode`` is not off."""
    tags = [t for t in option_tags(request, "Supported") if t != OPTION_100REL]
    if mode != PrackMode.OFF:
        tags.append(OPTION_100REL)
    request.headers.remove("Supported")
    if tags:
        request.headers.add("Supported", ", ".join(sorted(tags)))
    if mode == PrackMode.REQUIRED:
        request.headers.add("Require", OPTION_100REL)


def is_reliable(response: Response) -> bool:
    """A 101-199 response sent reliably: Require: 100rel and an RSeq."""
    return (
        100 < response.status < 200
        and "RSeq" in response.headers
        and OPTION_100REL in option_tags(response, "Require")
    )


def rseq_of(response: Response) -> int | None:
    return digits((response.headers.get("RSeq") or "").strip())


@dataclass(frozen=True, slots=True)
class RAck:
    """The RAck header of a PRACK: which reliable provisional it acknowledges."""

    rseq: int
    cseq: int
    method: str

    @classmethod
    def parse(cls, value: str | None) -> RAck | None:
        parts = (value or "").split()
        if len(parts) != 3:
            return None
        rseq, cseq = digits(parts[0]), digits(parts[1])
        if rseq is None or cseq is None:
            return None
        return cls(rseq, cseq, parts[2])

    def __str__(self) -> str:
        return f"{self.rseq} {self.cseq} {self.method}"


@dataclass(slots=True)
class _Pending:
    response: Response
    rseq: int
    has_sdp: bool


class ReliableProvisionals:
    """UAS: the reliable 18x of one INVITE, sent one at a time until PRACKed."""

    def __init__(
        self,
        invite: Request,
        send: Callable[[Response], None],
        timers: Timers,
        on_give_up: Callable[[], None],
    ) -> None:
        self._cseq = invite.cseq[0]
        self._send = send
        self._timers = timers
        self._on_give_up = on_give_up
        # RFC 3262 3: random start in 1 .. 2**31 - 1, with room to count up
        self._next_rseq = secrets.randbelow(2**30) + 1
        self._unacked: _Pending | None = None  # sent, no PRACK yet
        self._queue: deque[_Pending] = deque()  # waiting for the previous PRACK
        self._retransmit: asyncio.TimerHandle | None = None
        self._give_up: asyncio.TimerHandle | None = None
        self._stopped = False
        self.acknowledged = 0  # reliable 18x PRACKed so far

    @property
    def outstanding(self) -> bool:
        """A reliable 18x is sent or queued and not PRACKed yet."""
        return self._unacked is not None or bool(self._queue)

    @property
    def awaiting_sdp_prack(self) -> bool:
        """An offer/answer-bearing reliable 18x is not PRACKed yet: no 2xx may be sent
        (RFC 3262 3)."""
        if self._unacked is not None and self._unacked.has_sdp:
            return True
        return any(p.has_sdp for p in self._queue)

    def send(self, response: Response) -> None:
        """Stamp ``response`` (a 101-199) reliable and send it, or queue it behind the
        one still waiting for its PRACK (only one may be outstanding, RFC 3262 3)."""
        if self._stopped:
            return
        rseq = self._next_rseq
        self._next_rseq += 1
        response.headers.add("Require", OPTION_100REL)
        response.headers.add("RSeq", str(rseq))
        pending = _Pending(response, rseq, bool(response.body))
        if self._unacked is None:
            self._transmit(pending)
        else:
            self._queue.append(pending)

    def _transmit(self, pending: _Pending) -> None:
        self._unacked = pending
        self._send(pending.response)
        loop = asyncio.get_running_loop()
        interval = self._timers.t1

        def again() -> None:
            nonlocal interval
            if self._unacked is not pending or self._stopped:
                return
            self._send(pending.response)
            interval *= 2
            self._retransmit = loop.call_later(interval, again)

        self._retransmit = loop.call_later(interval, again)
        self._give_up = loop.call_later(64 * self._timers.t1, self._gave_up)

    def _gave_up(self) -> None:
        if self._unacked is None or self._stopped:
            return
        self.stop()
        self._on_give_up()

    def prack(self, rack: RAck | None) -> bool:
        """A PRACK arrived; False: it names no unacknowledged reliable 18x (481)."""
        pending = self._unacked
        if (
            rack is None
            or pending is None
            or rack.rseq != pending.rseq
            or rack.cseq != self._cseq
            or rack.method != "INVITE"
        ):
            return False
        self._unacked = None
        self.acknowledged += 1
        self._cancel_timers()
        if self._queue and not self._stopped:
            self._transmit(self._queue.popleft())
        return True

    def stop(self) -> None:
        """A final response went out: no more retransmissions, queued 18x are dropped;
        the outstanding one still matches a late PRACK (RFC 3262 3)."""
        self._stopped = True
        self._queue.clear()
        self._cancel_timers()

    def _cancel_timers(self) -> None:
        for handle in (self._retransmit, self._give_up):
            if handle is not None:
                handle.cancel()
        self._retransmit = self._give_up = None


class RSeqTracker:
    """UAC: which reliable 18x to PRACK, per early dialog (the response's To tag)."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}

    def accept(self, response: Response) -> int | None:
        """The RSeq to acknowledge, or None for a retransmission or an out-of-order
        response (neither PRACKed nor passed on, RFC 3262 4)."""
        rseq = rseq_of(response)
        if rseq is None:
            return None
        tag = response.to_addr.tag or ""
        last = self._last.get(tag)
        if last is not None and rseq != last + 1:
            return None
        self._last[tag] = rseq
        return rseq
