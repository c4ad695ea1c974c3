"""The user-agent core: transport + transactions + dialog dispatch (RFC 3261 section 8).

Out-of-dialog requests go to the application's handler; requests, ACKs and stray
responses that belong to a dialog go to the dialog usage registered for it.
"""

from __future__ import annotations

import logging
import secrets
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .address import Address
from .auth import authorization, choose_challenge
from .connection_limits import ConnectionLimits
from .dialog import TARGET_METHODS, Dialog, remote_target_problem
from .errors import SipError
from .headers import Headers
from .logbudget import LogBudget
from .message import Request, Response, new_branch, new_call_id, new_tag
from .options import (
    ALLOWED,
    EVENTS,
    SUPPORTED,
    allow_events_header,
    allow_header,
    supported_header,
    unsupported,
)
from .routes import LocalAddresses, uri_host
from .transaction import ClientTransaction, Limits, ServerTransaction, Timers, TransactionLayer
from .transport import Peer, Transport
from .uri import SipUri
from .via import Via

log = logging.getLogger("softswitch.sip.ua")

# Methods that only make sense inside a dialog: outside one there is nothing to act on
# (RFC 3261 15.1.2 for BYE, RFC 6086 4.2.2 for INFO, RFC 3311 for UPDATE, RFC 3262 for
# PRACK).
_DIALOG_ONLY = frozenset({"BYE", "INFO", "UPDATE", "PRACK"})


@dataclass(slots=True)
class Credentials:
    username: str
    password: str


class DialogUsage(Protocol):
    """What a call (or any dialog user) offers the UA for in-dialog traffic."""

    # read-only here, so a usage that always has its dialog (a subscription) fits too
    @property
    def dialog(self) -> Dialog | None: ...

    def on_request(self, st: ServerTransaction) -> None: ...
    def on_ack(self, request: Request) -> None: ...
    def on_stray_response(self, response: Response) -> None: ...


RequestHandler = Callable[[ServerTransaction], None]


class UserAgent:
    def __init__(
        self,
        host: str,
        port: int,
        on_request: RequestHandler,
        *,
        addresses: LocalAddresses | None = None,
        timers: Timers | None = None,
        user_agent: str = "softswitch",
        tls_context: ssl.SSLContext | None = None,
        tls_host: str = "",
        tls_port: int = 0,
        connection_limits: ConnectionLimits | None = None,
        limits: Limits | None = None,
    ) -> None:
        # which of our addresses each peer is told (by default: the listen address)
        self.addresses = addresses or LocalAddresses(host)
        self.user_agent = user_agent
        self.transport = Transport(
            host,
            port,
            self._received,
            tls_context,
            tls_host,
            tls_port,
            limits=connection_limits,
        )
        self.timers = timers or Timers()
        self.limits = limits or Limits()
        self.layer: TransactionLayer | None = None
        self.on_request = on_request
        # what Allow and Supported say, and which Require tags pass (sip.options)
        self.allow = allow_header(ALLOWED)
        self.allow_events = allow_events_header(EVENTS)
        self._supported = SUPPORTED
        self._supported_value = supported_header(SUPPORTED)
        # handler failures are all answered, but a flood of them is not all logged
        self._failures = LogBudget()
        self.dialogs: dict[tuple[str, str, str], DialogUsage] = {}
        # UAC INVITEs by (call_id, local_tag): before their dialog exists, and for 64*T1
        # after a 2xx so that a second fork's 2xx is still ACKed (RFC 6026)
        self.early: dict[tuple[str, str], DialogUsage] = {}
        # a node leaving its cluster: OPTIONS probes get 503, so a load balancer in front
        # stops sending it new calls while its dialogs go on
        self.draining = False

    @property
    def supported(self) -> frozenset[str]:
        """The option tags a Require may name; Supported headers list them."""
        return self._supported

    @supported.setter
    def supported(self, tags: frozenset[str]) -> None:
        self._supported = tags
        self._supported_value = supported_header(tags)

    @property
    def port(self) -> int:
        return self.transport.port

    def dialog_peers(self) -> set[tuple[str, str, int]]:
        """(transport, host, port) of every dialog's peer: connections a call still needs."""
        peers = set()
        for usage in self.dialogs.values():
            if usage.dialog is not None:
                peer = usage.dialog.peer
                peers.add((peer.transport, peer.host, peer.port))
        return peers

    async def start(self) -> None:
        self.layer = TransactionLayer(
            self.transport,
            self._request,
            self._ack,
            self._stray_response,
            self.timers,
            self.limits,
        )
        await self.transport.start()

    async def stop(self) -> None:
        if self.layer:
            self.layer.close()
        await self.transport.stop()

    # -- building -----------------------------------------------------------

    def advertised(self, peer_host: str | None) -> str:
        """Our address as the peer at `peer_host` reaches us (None: not known); for
        SDP. In URIs and Via it goes through routes.uri_host (IPv6 in brackets)."""
        if peer_host is None:
            return self.addresses.default
        return self.addresses.for_peer(peer_host)

    def port_for(self, transport: str) -> int:
        """The port we listen on for ``transport`` (TLS has its own when it listens)."""
        if transport == "TLS" and self.transport.tls_port:
            return self.transport.tls_port
        return self.transport.port

    def via(self, transport: str = "UDP", peer_host: str | None = None) -> str:
        host = uri_host(self.advertised(peer_host))
        port = self.port_for(transport)
        return f"SIP/2.0/{transport} {host}:{port};branch={new_branch()};rport"

    def contact(
        self,
        user: str | None,
        transport: str = "UDP",
        peer_host: str | None = None,
        secure: bool = False,
    ) -> str:
        """Our Contact as the peer at `peer_host` reaches us; ``secure``: a sips: URI, due
        in a dialog set up with a sips: Request-URI (RFC 3261 12.1.1 and 12.1.2), which
        implies TLS."""
        userpart = f"{user}@" if user else ""
        host = uri_host(self.advertised(peer_host))
        if secure:
            return f"<sips:{userpart}{host}:{self.port_for('TLS')}>"
        suffix = "" if transport == "UDP" else f";transport={transport.lower()}"
        return f"<sip:{userpart}{host}:{self.port_for(transport)}{suffix}>"

    def new_request(
        self,
        method: str,
        uri: SipUri,
        from_addr: Address,
        to_addr: Address,
        *,
        transport: str = "UDP",
        call_id: str | None = None,
        cseq: int = 1,
        contact_user: str | None = None,
        body: bytes = b"",
        content_type: str | None = None,
        peer_host: str | None = None,
    ) -> Request:
        """An out-of-dialog request with a fresh branch and a From tag (8.1.1);
        `peer_host` is where it goes (Via and Contact name our address on that route)."""
        headers = Headers()
        headers.add("Via", self.via(transport, peer_host))
        headers.add("Max-Forwards", "70")
        if from_addr.tag is None:
            from_addr = Address(
                from_addr.uri, from_addr.display, {**from_addr.params, "tag": new_tag()}
            )
        headers.add("From", str(from_addr))
        headers.add("To", str(to_addr))
        headers.add("Call-ID", call_id or new_call_id())
        headers.add("CSeq", f"{cseq} {method}")
        if method in ("INVITE", "REGISTER", "SUBSCRIBE", "REFER", "UPDATE"):
            headers.add(
                "Contact", self.contact(contact_user, transport, peer_host, uri.scheme == "sips")
            )
        headers.add("User-Agent", self.user_agent)
        if method == "INVITE":
            headers.add("Allow", self.allow)
            if self._supported_value:
                headers.add("Supported", self._supported_value)
        if body:
            headers.add("Content-Type", content_type or "application/sdp")
        return Request(method, uri, headers, body)

    def response(
        self, request: Request, status: int, reason: str | None = None, to_tag: str | None = None
    ) -> Response:
        response = request.make_response(status, reason, to_tag=to_tag)
        response.headers.add("Server", self.user_agent)
        method = request.method
        # RFC 3261 11.2, 13.3.1.4, 20.5: what we answer and support, where a peer looks
        if (
            status in (405, 420)
            or (method == "OPTIONS" and 200 <= status < 300)
            or (method == "INVITE" and 100 < status < 300)
        ):
            response.headers.add("Allow", self.allow)
            if self._supported_value:
                response.headers.add("Supported", self._supported_value)
            if method == "OPTIONS":  # RFC 6665 7.2.2: the packages we notify
                response.headers.add("Allow-Events", self.allow_events)
        return response

    def answer_failure(self, st: ServerTransaction) -> None:
        """An application handler raised while ``st`` was its work: log it once with the
        traceback and the Call-ID, and answer 500 unless a final response went out.

        Call from an ``except`` block: the traceback logged is the one being handled.
        """
        request = st.request
        logged, dropped = self._failures.take()
        if logged:
            log.exception(
                "%s call_id=%s from %s: handler failed, answering 500%s",
                request.method,
                request.call_id,
                st.peer,
                f" ({dropped} more failures not logged)" if dropped else "",
            )
        if st.final_sent:
            return
        try:
            st.respond(self.response(request, 500, "Server Internal Error", _to_tag(st)))
        except Exception:  # the request itself may be what broke the handler
            log.warning("call_id=%s: could not answer 500", request.call_id, exc_info=True)

    # -- sending ------------------------------------------------------------

    async def send(self, request: Request, peer: Peer) -> ClientTransaction:
        assert self.layer is not None, "user agent not started"
        peer = await self.transport.connect(peer)
        return self.layer.send_request(request, peer)

    def send_ack(self, request: Request, peer: Peer) -> None:
        assert self.layer is not None
        self.layer.send_stateless(request, peer)

    async def request(
        self,
        request: Request,
        peer: Peer,
        credentials: Credentials | None = None,
        on_provisional: Callable[[Response], None] | None = None,
        on_transaction: Callable[[ClientTransaction], None] | None = None,
    ) -> Response:
        """Send and wait for the final response, answering up to two digest challenges."""
        for attempt in range(3):
            ct = await self.send(request, peer)
            if on_transaction is not None:
                on_transaction(ct)
            ct.on_response = (
                (lambda r: on_provisional(r) if r.status < 200 else None)
                if on_provisional
                else None
            )
            response = await ct.final
            if response.status not in (401, 407) or credentials is None:
                return response
            header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
            try:
                challenge = choose_challenge(response.headers.get_all(header))
            except SipError as exc:
                log.info("cannot answer %d challenge: %s", response.status, exc)
                return response
            if attempt and not challenge.stale:
                return response  # our credentials were rejected
            value = authorization(
                challenge,
                method=request.method,
                uri=str(request.uri),
                username=credentials.username,
                password=credentials.password,
                nc=1,
                cnonce=secrets.token_hex(8),
            )
            request = self._resend_with(request, response.status, value, peer.host)
        return response

    def _resend_with(
        self, request: Request, status: int, auth_value: str, peer_host: str
    ) -> Request:
        headers = request.headers.copy()
        name = "Authorization" if status == 401 else "Proxy-Authorization"
        headers.remove("Authorization")
        headers.remove("Proxy-Authorization")
        headers.add(name, auth_value)
        vias = headers.get_all("Via")
        headers.remove("Via")
        headers.add("Via", self.via(Via.parse(vias[0]).transport.upper(), peer_host))
        number, method = request.cseq
        headers.set("CSeq", f"{number + 1} {method}")
        return Request(request.method, request.uri, headers, request.body)

    # -- receiving ----------------------------------------------------------

    def _received(self, message: Request | Response, peer: Peer) -> None:
        assert self.layer is not None
        try:
            self.layer.handle(message, peer)
        except Exception:
            # _request catches what handlers raise: this is the transaction layer itself
            logged, dropped = self._failures.take()
            if logged:
                log.exception(
                    "%s call_id=%s: error handling it%s",
                    getattr(message, "method", "response"),
                    message.call_id,
                    f" ({dropped} more failures not logged)" if dropped else "",
                )
            if isinstance(message, Response) or message.method == "ACK":
                return
            try:
                answer = self.response(message, 500, "Server Internal Error")
                self.transport.send_response(answer, peer)
            except Exception:
                log.debug("call_id=%s: could not answer 500", message.call_id, exc_info=True)

    def _dialog_of_request(self, request: Request) -> DialogUsage | None:
        return self.dialogs.get(
            (request.call_id, request.to_addr.tag or "", request.from_addr.tag or "")
        )

    def _request(self, st: ServerTransaction) -> None:
        # Whatever a handler raises, the request is answered (500), never left silent.
        try:
            self._dispatch(st)
        except Exception:
            self.answer_failure(st)

    def _dispatch(self, st: ServerTransaction) -> None:
        request = st.request
        if request.method in TARGET_METHODS:
            problem = remote_target_problem(request)
            if problem is not None:
                st.respond_stateless(self.response(request, 400, problem, to_tag=new_tag()))
                return
        missing = unsupported(request, self.supported)
        if missing:  # RFC 3261 8.2.2.3
            response = self.response(request, 420, "Bad Extension", _to_tag(st))
            response.headers.add("Unsupported", ", ".join(missing))
            st.respond(response)
            return
        if request.to_addr.tag:
            usage = self._dialog_of_request(request)
            if usage is None:
                st.respond_stateless(self.response(request, 481, "Call/Transaction Does Not Exist"))
                return
            usage.on_request(st)
            return
        if request.method == "OPTIONS":
            # stateless, as a ping costs nothing to answer again
            if self.draining:
                response = self.response(request, 503, "Draining", to_tag=new_tag())
                response.headers.add("Retry-After", "60")
                st.respond_stateless(response)
                return
            response = self.response(request, 200, to_tag=new_tag())
            response.headers.add("Accept", "application/sdp")
            st.respond_stateless(response)
            return
        if request.method in _DIALOG_ONLY:
            st.respond_stateless(self.response(request, 481, "Call/Transaction Does Not Exist"))
            return
        self.on_request(st)

    def _ack(self, request: Request, peer: Peer) -> None:
        usage = self._dialog_of_request(request)
        if usage is not None:
            usage.on_ack(request)

    def _stray_response(self, response: Response, peer: Peer) -> None:
        key = (response.call_id, response.from_addr.tag or "", response.to_addr.tag or "")
        usage = self.dialogs.get(key) or self.early.get(key[:2])
        if usage is not None:
            usage.on_stray_response(response)


def _to_tag(st: ServerTransaction) -> str | None:
    """The To tag of a final answer to ``st``: the request's own, else the one of a
    provisional response already sent (one early dialog), else a new one."""
    if st.request.to_addr.tag:
        return None
    last = st.last_response
    if last is not None and last.to_addr.tag:
        return last.to_addr.tag
    return new_tag()
