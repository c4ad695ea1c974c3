"""REFER inside an INVITE dialog (RFC 3515): the Refer-To target, and the implicit
subscription whose NOTIFYs tell the referrer how the referred call is going.

    REFER sip:switch SIP/2.0                  (in the dialog of the call)
    Refer-To: <sip:103@switch>                blind transfer
    Refer-To: <sip:103@switch?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2>
                                              attended transfer (RFC 3891 Replaces)

The referrer gets 202 Accepted, then NOTIFYs in the same dialog with ``Event: refer``
and a ``message/sipfrag`` body holding the status line of the referred request (RFC 3515
2.4.4/2.4.5): ``SIP/2.0 100 Trying`` while it runs, its final status with
``Subscription-State: terminated`` at the end. Only the REFER's own dialog reaches this
module: who may refer a call is who is a party of its dialog.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from urllib.parse import unquote

from .address import Address
from .errors import SipError, SipParseError
from .invite import InviteSession
from .message import Request
from .replaces import Replaces
from .uri import SipUri

__all__ = ["ReferSubscription", "ReferTo"]

log = logging.getLogger(__name__)

SUBSCRIPTION_SECONDS = 60  # how long we say the implicit subscription lasts (RFC 3515 2.4.4)


@dataclass(frozen=True, slots=True)
class ReferTo:
    """Where a REFER sends the call: ``uri`` (its headers taken out) and, for an
    attended transfer, the dialog the new call replaces."""

    uri: SipUri
    replaces: Replaces | None = None

    @classmethod
    def of(cls, request: Request) -> ReferTo:
        """The REFER's one Refer-To (RFC 3515 2.1); SipParseError (400) when it has
        none, several, or one that does not parse."""
        values = request.headers.get_all("Refer-To")
        if not values:
            raise SipParseError("REFER without Refer-To")
        if len(values) > 1:
            raise SipParseError("more than one Refer-To header")
        address = Address.parse(values[0])
        uri = address.uri
        if uri.scheme not in ("sip", "sips", "tel"):
            raise SipParseError(f"Refer-To is not a SIP URI: {uri.scheme}")
        replaces: Replaces | None = None
        for name, value in uri.headers.items():
            if name.lower() == "replaces":
                replaces = Replaces.parse(unquote(value))
        target = SipUri(uri.scheme, uri.user, uri.host, uri.port, dict(uri.params))
        return cls(target, replaces)


class ReferSubscription:
    """The implicit subscription of one accepted REFER: NOTIFYs in the REFER's dialog."""

    def __init__(self, session: InviteSession, request: Request) -> None:
        self.session = session
        # RFC 3515 2.4.6: a second REFER in the dialog makes the id parameter needed
        self.event = f"refer;id={request.cseq[0]}"
        self.terminated = False
        self._tasks: set[asyncio.Task[None]] = set()

    def notify(self, status: int, reason: str) -> asyncio.Task[None] | None:
        """Send the referred request's status: a final one ends the subscription.
        The task sending it (None once the subscription has ended)."""
        if self.terminated:
            return None
        final = status >= 200
        self.terminated = final
        task = asyncio.get_running_loop().create_task(self._send(status, reason, final))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def notify_and_wait(self, status: int, reason: str, timeout: float) -> None:
        """Notify and wait (at most ``timeout``) for the referrer's answer: the final
        NOTIFY goes before the BYE that releases it."""
        task = self.notify(status, reason)
        if task is not None:
            await asyncio.wait([task], timeout=timeout)

    async def _send(self, status: int, reason: str, final: bool) -> None:
        session = self.session
        dialog = session.dialog
        if dialog is None:
            return
        notify = dialog.create_request(
            "NOTIFY",
            session.ua.via(session.transport, session.peer_host),
            contact=session.ua.contact(None, session.transport, session.peer_host),
            body=f"SIP/2.0 {status} {reason}\r\n".encode(),
            content_type="message/sipfrag;version=2.0",
        )
        notify.headers.add("Event", self.event)
        notify.headers.add(
            "Subscription-State",
            "terminated;reason=noresource" if final else f"active;expires={SUBSCRIPTION_SECONDS}",
        )
        try:
            ct = await session.ua.send(notify, dialog.peer)
            await asyncio.wait_for(ct.final, 64 * session.ua.timers.t1 + 1)
        except (TimeoutError, SipError, OSError) as exc:
            # the referrer may hang up as soon as it hears 200: nothing to do about it
            log.info("call %s: NOTIFY %d not confirmed: %s", session.call_id, status, exc)
