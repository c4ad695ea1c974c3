"""Dialog state (RFC 3261 section 12): tags, CSeq, route set and remote target."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .address import Address
from .errors import SipParseError
from .headers import Headers
from .message import Request, Response
from .transport import Peer
from .uri import SipUri


class DialogState(StrEnum):
    """RFC 3261 12: early (a provisional response), confirmed (a 2xx), terminated."""

    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


# Requests whose Contact becomes (or refreshes) a dialog's remote target.
TARGET_METHODS = frozenset({"INVITE", "SUBSCRIBE", "REFER", "UPDATE"})


def remote_target_problem(request: Request) -> str | None:
    """Why the Contact of ``request`` cannot be a remote target, or None.

    RFC 3261 8.1.1.8: a request that can establish a dialog carries exactly one
    SIP or SIPS URI in Contact; a tel:, http: or unreadable one is refused with a
    400 naming it (416 is for the Request-URI's scheme, RFC 3261 21.4.16).  A
    missing Contact is tolerated: the From address stands in (as before).
    """
    try:
        contacts = request.contacts
    except SipParseError as exc:
        return f"bad Contact: {exc.reason}"
    if not contacts:
        return None
    if len(contacts) > 1:
        return "more than one Contact"
    scheme = contacts[0].uri.scheme
    if scheme != "sip" and scheme != "sips":
        return f"Contact must be a SIP or SIPS URI, not {scheme}:"
    return None


@dataclass(slots=True)
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: Address  # our From in requests we send (no tag)
    remote_uri: Address  # their address (no tag)
    remote_target: SipUri  # their Contact: where in-dialog requests go
    peer: Peer  # the transport address those requests are sent to
    route_set: list[str] = field(default_factory=list)
    local_cseq: int = 1
    remote_cseq: int | None = None

    @property
    def id(self) -> tuple[str, str, str]:
        return (self.call_id, self.local_tag, self.remote_tag)

    @classmethod
    def as_uas(cls, request: Request, local_tag: str, peer: Peer) -> Dialog:
        """The dialog a received INVITE creates once we answer it (12.1.1)."""
        contacts = request.contacts
        target = contacts[0].uri if contacts else request.from_addr.uri
        return cls(
            call_id=request.call_id,
            local_tag=local_tag,
            remote_tag=request.from_addr.tag or "",
            local_uri=_untagged(request.to_addr),
            remote_uri=_untagged(request.from_addr),
            remote_target=target,
            peer=peer,
            route_set=list(request.headers.get_all("Record-Route")),
            local_cseq=1,
            remote_cseq=request.cseq[0],
        )

    @classmethod
    def as_uac(cls, request: Request, response: Response, peer: Peer) -> Dialog:
        """The dialog a 2xx (or tagged 1xx) to our INVITE creates (12.1.2)."""
        contacts = response.contacts
        target = contacts[0].uri if contacts else request.uri
        return cls(
            call_id=request.call_id,
            local_tag=request.from_addr.tag or "",
            remote_tag=response.to_addr.tag or "",
            local_uri=_untagged(request.from_addr),
            remote_uri=_untagged(response.to_addr),
            remote_target=target,
            peer=peer,
            route_set=list(reversed(response.headers.get_all("Record-Route"))),
            local_cseq=request.cseq[0],
        )

    def create_request(
        self,
        method: str,
        via: str,
        contact: str | None = None,
        body: bytes = b"",
        content_type: str | None = None,
        cseq: int | None = None,
    ) -> Request:
        """A request inside the dialog (12.2.1.1); ACK and CANCEL reuse a CSeq number."""
        if cseq is None:
            self.local_cseq += 1
            cseq = self.local_cseq
        uri, routes = self._request_target()
        headers = Headers()
        headers.add("Via", via)
        headers.add("Max-Forwards", "70")
        for route in routes:
            headers.add("Route", route)
        local = Address(self.local_uri.uri, self.local_uri.display, {"tag": self.local_tag})
        remote = Address(self.remote_uri.uri, self.remote_uri.display, {"tag": self.remote_tag})
        headers.add("From", str(local))
        headers.add("To", str(remote))
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", f"{cseq} {method}")
        if contact:
            headers.add("Contact", contact)
        if content_type and body:
            headers.add("Content-Type", content_type)
        return Request(method, uri, headers, body)

    def _request_target(self) -> tuple[SipUri, list[str]]:
        if not self.route_set:
            return self.remote_target, []
        first = Address.parse(self.route_set[0])
        if "lr" in first.uri.params:
            return self.remote_target, list(self.route_set)
        # strict router (RFC 2543): its URI goes in the Request-URI
        return first.uri, list(self.route_set[1:]) + [f"<{self.remote_target}>"]

    def accept_remote_cseq(self, request: Request) -> bool:
        """Requests must arrive in CSeq order (12.2.2); False means answer 500."""
        number = request.cseq[0]
        if request.method in ("ACK", "CANCEL"):
            return True
        if self.remote_cseq is not None and number <= self.remote_cseq:
            return False
        self.remote_cseq = number
        return True

    def refresh_target(self, message: Request | Response) -> None:
        """A re-INVITE or its 2xx may move the remote target (target refresh)."""
        contacts = message.contacts
        if contacts:
            self.remote_target = contacts[0].uri


def _untagged(address: Address) -> Address:
    params = {k: v for k, v in address.params.items() if k != "tag"}
    return Address(address.uri, address.display, params)
