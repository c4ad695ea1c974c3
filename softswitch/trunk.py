"""SIP trunks: registration to the carrier (RFC 3261 section 10.2) and outbound routing."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from dataclasses import dataclass
from enum import StrEnum

from .background import cancel_and_wait
from .config import TrunkConfig, split_host_port, split_source
from .sip.address import Address
from .sip.errors import SipError
from .sip.message import new_call_id
from .sip.routes import uri_host
from .sip.transport import Peer, TlsClient
from .sip.ua import Credentials, UserAgent
from .sip.uri import SipUri
from .trunk_keepalive import CarrierPing

log = logging.getLogger("softswitch.trunk")

RETRY_MIN = 5.0
RETRY_MAX = 300.0


FAMILY_NAMES = {socket.AF_INET: "IPv4", socket.AF_INET6: "IPv6"}


class TrunkState(StrEnum):
    """Where the trunk's registration is; the values are what /health shows."""

    REGISTERING = "registering"
    REGISTERED = "registered"
    FAILING = "failing"  # the last attempt failed; retrying with back-off
    UNREGISTERED = "unregistered"  # the switch stopped
    IP_AUTH = "ip-auth"  # the carrier knows us by address: nothing to register


@dataclass(slots=True)
class TrunkStatus:
    state: TrunkState
    last_error: str = ""
    expires_at: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "state": self.state,
            "last_error": self.last_error,
            "expires_in": max(0, int(self.expires_at - time.time())) if self.expires_at else 0,
        }


class Trunk:
    def __init__(self, config: TrunkConfig, ua: UserAgent) -> None:
        self.config = config
        self.ua = ua
        self.name = config.name
        host, port = split_host_port(config.host, 5061 if config.transport == "TLS" else 5060)
        self.host = host  # an IPv6 literal without brackets (it goes in URIs with them)
        self.uri_host = uri_host(host)
        self.port = port
        self._tls = self._tls_client() if config.transport == "TLS" else None
        self.status = TrunkStatus(TrunkState.REGISTERING if config.register else TrunkState.IP_AUTH)
        self._addresses: set[str] = set()
        self._preferred = ""  # the carrier's address we send to
        self._call_id = new_call_id()
        self._cseq = 1
        self._task: asyncio.Task | None = None
        self._wake = asyncio.Event()
        # OPTIONS pings keep a NAT mapping to the carrier open and show whether it answers
        self.keepalive = CarrierPing(
            ua,
            SipUri("sip", None, self.uri_host, port if port != 5060 else None),
            self._resolved_peer,
            config.keepalive_interval,
            name=self.name,
            user=config.username,
        )

    @property
    def credentials(self) -> Credentials | None:
        if not self.config.username:
            return None
        return Credentials(self.config.username, self.config.password)

    @property
    def peer(self) -> Peer:
        return Peer(self.config.transport, self._preferred or self.host, self.port)

    def _resolved_peer(self) -> Peer | None:
        """Where requests go, once the carrier's name is resolved (None before)."""
        return self.peer if self._addresses else None

    def health(self) -> dict[str, object]:
        """The registration's status and what the keepalive pings say, for /health."""
        return {**self.status.as_dict(), "carrier": self.keepalive.state}

    def _tls_client(self) -> TlsClient:
        """The carrier's certificate must chain to ca_file (or the system's CAs) and name
        the trunk host (SNI and hostname check); only verify = false turns that off."""
        if self.config.verify:
            context = ssl.create_default_context(cafile=self.config.ca_file or None)
        else:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return TlsClient(context, self.host)

    def uri_for(self, number: str) -> SipUri:
        return SipUri("sip", number, self.uri_host, self.port if self.port != 5060 else None)

    def prefix_match(self, number: str) -> int:
        """Length of the longest configured prefix that ``number`` starts with, or -1."""
        best = -1
        for prefix in self.config.prefixes:
            if number.startswith(prefix) and len(prefix) > best:
                best = len(prefix)
        return best

    def accepts_from(self, host: str, port: int, transport: str = "UDP") -> bool:
        """Is a request from ``host:port`` this carrier's? (IP authentication of inbound calls)

        By default only the trunk's own address and port count; ``inbound_from`` adds
        carrier signaling addresses, as "ip" (any port) or "ip:port". A TCP or TLS trunk
        also takes its own transport from the trunk's address on any port: a connection
        the carrier opens to us comes from an ephemeral port, and TCP's handshake has
        already shown the address is really the carrier's.
        """
        if host in self._addresses or host == self.host:
            if port == self.port:
                return True
            if transport != "UDP" and transport == self.config.transport:
                return True
        for source in self.config.inbound_from:
            ip, allowed_port = split_source(source)
            if ip == host and (allowed_port is None or allowed_port == port):
                return True
        return False

    async def resolve(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)
        except OSError as exc:
            raise SipError(f"cannot resolve {self.host}: {exc}") from exc
        names = self.ua.transport.families
        served = {family for family, name in FAMILY_NAMES.items() if name in names} or set(
            FAMILY_NAMES
        )  # not listening yet (a unit test): either family
        usable = [info for info in infos if info[0] in served]
        if not usable:
            raise SipError(f"{self.host} has no address of a family this machine serves")
        # every address counts for inbound calls; requests go to the first IPv4 one
        # (the name's own order otherwise), so a dual-stack carrier keeps one flow
        self._addresses = {str(info[4][0]) for info in usable}
        usable.sort(key=lambda info: info[0] != socket.AF_INET)
        self._preferred = str(usable[0][4][0])
        if self._tls is not None:
            for address in self._addresses:
                self.ua.transport.tls_clients[(address, self.port)] = self._tls

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"trunk-{self.name}")
        self.keepalive.start()

    async def stop(self) -> None:
        await self.keepalive.stop()
        await cancel_and_wait(self._task)
        if self.config.register and self.status.state == TrunkState.REGISTERED:
            try:
                await asyncio.wait_for(self._register(0), 5)
            except (TimeoutError, SipError) as exc:
                log.info("trunk %s: unregister failed: %s", self.name, exc)
            self.status = TrunkStatus(TrunkState.UNREGISTERED)

    async def _run(self) -> None:
        try:
            await self.resolve()
        except SipError as exc:
            self._failing(str(exc))
        if not self.config.register:
            return
        delay = RETRY_MIN
        while True:
            try:
                granted = await self._register(self.config.expires)
            except SipError as exc:
                self._failing(str(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
                continue
            delay = RETRY_MIN
            # refresh well before expiry; short grants get refreshed at half-time
            await asyncio.sleep(max(granted - 30, granted / 2, 1))

    def _failing(self, error: str) -> None:
        self.status = TrunkStatus(TrunkState.FAILING, error)
        log.warning("trunk %s: registration failing: %s", self.name, error)

    async def _register(self, expires: int) -> int:
        """One REGISTER exchange (with digest auth); returns the granted expiry."""
        if not self._addresses:
            await self.resolve()
        cfg = self.config
        aor = SipUri("sip", cfg.username, self.uri_host, self.port if self.port != 5060 else None)
        request = self.ua.new_request(
            "REGISTER",
            SipUri("sip", None, self.uri_host, aor.port),
            Address(aor),
            Address(aor),
            transport=cfg.transport,
            call_id=self._call_id,
            cseq=self._cseq,
            contact_user=cfg.username,
            peer_host=self.peer.host,
        )
        request.headers.add("Expires", str(expires))
        response = await self.ua.request(request, self.peer, self.credentials)
        self._cseq = response.cseq[0] + 1
        if response.status in (401, 407):
            raise SipError(f"authentication rejected ({response.status} {response.reason})")
        if response.status == 423:
            minimum = response.headers.get("Min-Expires") or ""
            if minimum.isdigit() and expires:
                self.config.expires = int(minimum)
            raise SipError(f"interval too brief, carrier wants {minimum}")
        if not 200 <= response.status < 300:
            raise SipError(f"registration refused: {response.status} {response.reason}")
        if expires == 0:
            return 0
        granted = self._granted(response, expires)
        self.status = TrunkStatus(TrunkState.REGISTERED, "", time.time() + granted)
        log.info("trunk %s: registered for %ds", self.name, granted)
        return granted

    def _granted(self, response, asked: int) -> int:
        ours = self.ua.contact(self.config.username, self.config.transport, self.peer.host)
        ours = ours.strip("<>")
        for contact in response.contacts:
            if str(contact.uri) == ours and contact.params.get("expires", "").isdigit():
                return int(contact.params["expires"])
        header = response.headers.get("Expires") or ""
        return int(header) if header.isdigit() else asked
