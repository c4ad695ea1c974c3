"""The switch: SIP user agent, registrar, trunks, channels and bridges in one event loop."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from media.clock import MediaClock
from media.families import RtpFamilies, version_of
from media.moh import MohSource, MusicOnHold, load_music
from media.ports import PortAllocator
from media.session import RtpSession
from media.tts import Tts
from media.wav import AudioError

from . import call_forwarding, feature_codes
from .bridge import Bridge, Tap
from .channel import (
    G711,
    Channel,
    ChannelEvent,
    ChannelNamer,
    ChannelState,
    Direction,
    Endpoint,
    EndpointKind,
    Registry,
)
from .cluster.front_door import FrontDoor
from .conference import Participant, RoomFull
from .conference_lobby import admitted
from .conferences import Conferences
from .config import Config, ConfigError, TrunkConfig
from .extension_admin import ExtensionAdmin, Neighbours
from .extension_status import ExtensionStatus, all_extension_status, extension_status
from .extensions import provision_extensions, seed_call_features
from .feature_calls import settings_call
from .forking import MAX_FORKS, NoAnswer, first_answer
from .identity import AuthGuard, ExtensionAuthenticator
from .keepalive import NatKeepalive
from .leg_srtp import LegSrtp, configured_mode, leg_mode
from .number_book import NumberBook
from .numbers import InboundNumber, NumberError
from .pickup import PICKUP_FEATURES, pickup_call, pickup_targets
from .presence.dialog_info import EVENT as DIALOG_EVENT
from .presence.lamps import BusyLamps
from .presence.pidf import EVENT as PRESENCE_EVENT
from .registrar import Registrar
from .replacement import ReplaceRefused, link, replaced_channel, take_place
from .routing import Route, Router, normalize
from .rtp_timeout import CAUSE as RTP_TIMEOUT
from .rtp_timeout import RtpTimeout
from .sip import sdp
from .sip.address import Address
from .sip.auth import DigestServer
from .sip.connection_limits import ConnectionLimits
from .sip.errors import SipError, SipParseError
from .sip.flood import FloodGuard, FloodLimits
from .sip.invite import IncomingInvite, OutgoingInvite
from .sip.message import Response, new_tag
from .sip.reliable import PrackMode
from .sip.replaces import Replaces
from .sip.routes import WILDCARDS, uri_host
from .sip.session_timer import RFC_MIN_SE, TimerPolicy
from .sip.subscription import EventPackages
from .sip.transaction import Limits, ServerTransaction, Timers
from .sip.transport import Peer
from .sip.ua import UserAgent
from .sip.uri import SipUri
from .store import Binding, Store
from .store.accounts import AccountStore
from .store.binding_paths import BindingPaths
from .store.call_features import CallFeatureStore
from .store.conferences import ConferenceStore
from .store.trunks import TrunkStore
from .store.voicemail import VoicemailStore
from .tlsidentity import TlsIdentity, ensure_identity
from .transfer import Transfers, same_party
from .trunk import Trunk
from .trunk_admin import TrunkAdmin
from .voicemail.access import ACCESS_CODE as VOICEMAIL_ACCESS
from .voicemail.mwi import MessageWaiting
from .voicemail.service import Voicemail, VoicemailError
from .voicemail.summary import EVENT as MWI_EVENT

log = logging.getLogger("softswitch.switch")

# what takes a caller's call after the extension it rang failed with a status
Fallback = Callable[[int], Coroutine[Any, Any, "Channel | None"]]

SHUTDOWN_GRACE = 3.0  # seconds to wait for BYE answers when stopping
# after the ring timeout, how long a device that never rang may keep the caller waiting
CANCEL_GRACE = 4.0


class SwitchError(Exception):
    """A call that cannot be placed; ``status`` is the SIP code that says why."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


# final response of the far leg -> (cause, status to give the caller)
def _is_address(text: str) -> bool:
    """An IP literal that names a host (not a hold address such as :: or 0.0.0.0)."""
    try:
        return not ipaddress.ip_address(text).is_unspecified
    except ValueError:
        return False


def _offered_address(body: bytes) -> str | None:
    """The audio address of an SDP offer; None when there is none or it does not
    parse (answering it then fails with the offer's own error, 488)."""
    if not body:
        return None
    try:
        return sdp.SessionDescription.parse(body).audio_address()
    except sdp.SdpError:
        return None


def cause_of(status: int) -> str:
    if status in (486, 600):
        return "busy"
    if status in (404, 484, 604):
        return "unallocated number"
    if status in (408, 480, 487):
        return "no answer"
    if status == 603:
        return "call rejected"
    if status in (401, 403, 407):
        return "not authorized"
    return "failure"


# an extension's failures that send its caller to voicemail: no answer (our ring timeout
# cancels with 408), not registered/unreachable, busy, declined (DND)
VOICEMAIL_STATUSES = frozenset({408, 480, 486, 600, 603})


def caller_status(status: int) -> int:
    """What the calling leg is told when the called leg fails."""
    if status in (401, 407) or status < 400:
        return 503  # never leak a carrier's challenge to our caller
    if status == 487:
        return 480
    return status


@dataclass(slots=True)
class InboundCall:
    """A call from a trunk to one of our numbers, not answered yet: its leg, the INVITE
    and the SDP our 2xx will carry. Whoever handles it (`Switch.on_number`) answers,
    rings an extension (`Switch.ring_extension`) or refuses it."""

    channel: Channel
    invite: IncomingInvite
    answer: bytes
    number: InboundNumber
    caller_id: str  # the caller's number as the carrier gave it
    caller_name: str | None

    def accept(self) -> None:
        """Answer (200 OK); SipError when the caller is gone."""
        if self.channel.state != ChannelState.UP:
            self.invite.answer(self.answer)
            self.channel.up()

    def refuse(self, status: int, reason: str) -> None:
        """Refuse the call if it is not answered yet (an answered one is hung up by its
        handler)."""
        if self.channel.state in (ChannelState.DOWN, ChannelState.RINGING, ChannelState.EARLY):
            self.invite.reject(status)
            self.channel.failed(reason, status)


@dataclass(slots=True)
class Call:
    """A bridged (or bridging) pair of channels."""

    a: Channel
    b: Channel
    bridge: Bridge | None = None
    picked_up: bool = False  # answered by a Replaces INVITE while b was ringing
    handed_over: bool = False  # b, ringing, taken over by a transferee (semi-attended)


class Switch:
    def __init__(
        self,
        config: Config,
        store: Store | None = None,
        timers: Timers | None = None,
        announce: Callable[[str], None] = print,
        tts: Tts | None = None,
    ) -> None:
        self.config = config
        self._owns_store = store is None
        self.store = store or Store(config.store.database_url, pool_size=config.store.pool_size)
        self.timers = timers
        self.announce = announce
        host, port = config.sip_host_port
        tls_host, tls_port = config.tls_host_port or ("", 0)
        self.tls = self._tls_identity()
        self.addresses = config.local_addresses()
        self.ua = UserAgent(
            host,
            port,
            self._on_request,
            addresses=self.addresses,
            timers=timers,
            tls_context=self.tls.server_context() if self.tls else None,
            tls_host=tls_host,
            tls_port=tls_port,
            connection_limits=ConnectionLimits(
                max_connections=config.sip_connections.max_connections,
                max_per_source=config.sip_connections.max_connections_per_source,
                message_timeout=config.sip_connections.message_timeout,
                idle_timeout=config.sip_connections.idle_timeout,
            ),
            limits=Limits(
                config.sip_limits.max_transactions,
                config.sip_limits.max_transactions_per_source,
                config.sip_limits.retry_after,
            ),
        )
        self.ua.transport.in_use = self._connections_in_use
        limits = config.sip_limits
        self.flood = FloodGuard(
            FloodLimits(limits.rate, limits.trusted_rate, limits.ban_seconds, limits.trust_seconds),
            exempt=self._is_trunk,
        )
        if limits.rate:
            self.ua.transport.admit = self.flood.admit
        self.channels = Registry()
        self.clock = MediaClock()
        self.rtp_timeout = RtpTimeout(
            self.channels, config.rtp.timeout, self._rtp_timed_out, time.monotonic
        )
        first, last = config.rtp_port_range
        self.ports = PortAllocator(first, last)
        # each leg's RTP socket takes its media peer's family (IPv4 or IPv6)
        self.rtp_families = RtpFamilies(config.rtp.address)
        # RTP bound to one address is advertised as that; on a wildcard, SDP c= names
        # the address through which the leg's SIP peer reaches us, like Via and Contact.
        self._rtp_fixed = "" if config.rtp.address in WILDCARDS else config.rtp.address
        # the store's trunks, seeded from [[trunks]]; changed at run time (set_trunk)
        self.trunk_admin = TrunkAdmin(TrunkStore(self.store.db), self.set_trunk)
        try:
            configured = self.trunk_admin.seed(config.trunks)
        except ConfigError as exc:
            raise ConfigError(f"a stored trunk: {exc}") from None
        self.trunks = [Trunk(t, self.ua) for t in configured]
        self.conferences = Conferences(
            config.conferences,
            ConferenceStore(self.store.db),
            self.clock,
            Path(config.media.recordings_dir),
            lambda number: self.store.extension(number) is not None,
        )
        self.router = Router(self.store, self.trunks, rooms=self.conferences.settings)
        self.call_features = CallFeatureStore(self.store.db)
        self.forwarder = call_forwarding.Forwarder(
            self.call_features,
            self.router.route,
            config.sip.ring_timeout,
            has_voicemail=lambda number: self._box_takes_calls(number),
        )
        self._name = ChannelNamer(secrets.randbelow(2**32) if config.cluster.enabled else 1)
        self._tasks: set[asyncio.Task[object]] = set()
        # outbound legs still ringing for a caller: how another caller picks the call up
        self._pickups: dict[Channel, Callable[[Channel], None]] = {}
        # the same calls by their caller's leg: how a semi-attended transfer hands the
        # ringing leg over to the transferee (the caller's INVITE is ended)
        self._handovers: dict[Channel, Callable[[], Channel]] = {}
        self.auth: ExtensionAuthenticator | None = None
        self.registrar: Registrar | None = None
        # behind a cluster's Kamailio front door (softswitch.cluster): the Paths of
        # registrations through it, the Route of every request to those phones
        self.front_door: FrontDoor | None = None
        self.binding_paths: BindingPaths | None = None
        if config.cluster.enabled:
            self.front_door = FrontDoor(config.cluster.front_doors)
            self.binding_paths = BindingPaths(self.store.db)
        self.keepalive = NatKeepalive(
            self.ua, self.store, config.sip.nat_keepalive, self.binding_paths
        )
        # RFC 4028 session timers of every leg, both directions (softswitch.sip.session_timer)
        self.session_timers = TimerPolicy(config.sip.session_expires, config.sip.min_se)
        if config.sip.min_se < RFC_MIN_SE:
            log.warning(
                "sip.min_se = %d s is below RFC 4028's 90 s: for tests only", config.sip.min_se
            )
        # inbound numbers and ring groups; a call from a trunk to one of the numbers is
        # handed to `on_number` (the call service's, softswitch.calls.inbound)
        self.numbers = NumberBook(
            self.store, rooms=lambda number: self.conferences.settings(number) is not None
        )
        self.on_number: Callable[[InboundCall], Awaitable[None]] | None = None
        # only when a box is configured: no speech engine or folder otherwise
        self.voicemail: Voicemail | None = None
        if any(e.voicemail for e in config.extensions):
            media = config.media
            self.voicemail = Voicemail(
                config,
                VoicemailStore(self.store.db),
                tts or Tts(Path(media.prompts_dir), engine=media.tts_engine),
                self.clock,
            )
        # the message lamps: SUBSCRIBE message-summary, NOTIFY on every change
        self.mwi = MessageWaiting(
            self.ua,
            self.voicemail,
            self.store.bindings,
            paths=self.binding_paths,
            min_expires=config.sip.min_expires,
            max_expires=config.sip.max_expires,
        )
        # busy lamps: SUBSCRIBE dialog / presence, NOTIFY as an extension's calls change
        self.lamps = BusyLamps(
            self.ua,
            self._account_of,
            lambda number: bool(self.store.bindings(number, time.time())),
            min_expires=config.sip.min_expires,
            max_expires=config.sip.max_expires,
        )
        self.channels.observers.append(self.lamps.channel_changed)
        # extensions changed while the switch runs (the admin API, the CLI, the console)
        self.extension_admin = ExtensionAdmin(
            self.store,
            config.sip.realm,
            Neighbours(
                did=lambda number: self.numbers.rows.number(number) is not None,
                room=lambda number: self.conferences.settings(number) is not None,
                account=lambda account: AccountStore(self.store.db).get(account) is not None,
                voicemail_box=self._open_box,
            ),
        )
        self.extension_settings = self.extension_admin.settings
        self.event_packages = EventPackages(
            self.ua,
            {
                DIALOG_EVENT: self.lamps.subscribe,
                MWI_EVENT: self.mwi.subscribe,
                PRESENCE_EVENT: self.lamps.subscribe,
            },
        )
        self.started = False
        self.moh: MohSource | None = None  # its music is loaded at start
        # REFER from a phone in a call (blind and attended transfer)
        self.transfers = Transfers(
            self._dial_for_transfer,
            self.bridge,
            self._spawn,
            lambda replaces: replaced_channel(
                replaces, self.ua.dialogs, self.ua.early, self.channels
            ),
            music=lambda: self.moh,
            take_ringing=self._take_ringing,
        )

    def _tls_identity(self) -> TlsIdentity | None:
        """The TLS listener's certificate; a new self-signed one is announced once."""
        if self.config.tls_host_port is None:
            return None
        certificate, private_key = self.config.tls_files
        identity = ensure_identity(certificate, private_key, self.config.local_addresses().default)
        if identity.created:
            self.announce(
                f"made a self-signed TLS certificate {certificate}; "
                f"SHA-256 fingerprint {identity.fingerprint}"
            )
        log.info("TLS certificate %s, SHA-256 %s", certificate, identity.fingerprint)
        return identity

    # -- lifecycle ----------------------------------------------------------

    async def start(self) -> None:
        provision_extensions(self.store, self.config, self.announce)
        seed_call_features(self.call_features, self.config)
        for record in self.extension_settings.records():
            if record.settings.voicemail:
                self._open_box(record.number, record.settings.account)
        for room in self.config.conferences:  # the generated extensions are known only now
            if self.store.extension(room.number) is not None:
                raise ConfigError(f"conference {room.number}: number is an extension's")
        try:
            self.numbers.seed(self.config.numbers, self.config.ring_groups)
        except NumberError as exc:
            raise ConfigError(str(exc)) from None
        key = self.store.get_meta("digest_key")
        if key is None:
            key = secrets.token_hex(32)
            self.store.set_meta("digest_key", key)
        # Many phones (libre/baresip 1.x among them) give up when any challenge is not
        # MD5, so SHA-256 is opt-in (sip.digest_algorithms); SHA-256 answers verify anyway.
        digest = DigestServer(
            self.config.sip.realm,
            bytes.fromhex(key),
            algorithms=tuple(self.config.sip.digest_algorithms),
        )
        guard = AuthGuard(
            self.config.sip.auth_failures_per_minute,
            ban_seconds=self.config.sip.auth_ban_seconds,
            max_address_failures=self.config.sip.auth_address_failures_per_minute,
            max_slow_failures=self.config.sip.auth_failures_per_hour,
        )
        self.auth = ExtensionAuthenticator(
            self.store,
            digest,
            guard,
            self.flood.trust,
            origin=None if self.front_door is None else self.front_door.origin,
        )
        self.registrar = Registrar(
            self.store,
            self.auth,
            self.ua,
            min_expires=self.config.sip.min_expires,
            max_expires=self.config.sip.max_expires,
            on_new_binding=self._new_binding,
            front_door=(
                None
                if self.front_door is None or self.binding_paths is None
                else (self.front_door, self.binding_paths)
            ),
            admit=self._admit_registration,
        )
        self.moh = MohSource(await self._music_on_hold(), self.clock)
        await self.ua.start()
        assert self.ua.layer is not None
        self.ua.layer.uncapped = self.flood.privileged
        if self.rtp_timeout.timeout:
            self.clock.add(self.rtp_timeout.tick)
        self.keepalive.start()
        self.clock.start()
        for trunk in self.trunks:
            trunk.start()
        self.started = True
        log.info(
            "switch listening sip=%s:%d (%s) advertised=%s rtp=%s (%s)",
            self.ua.transport.host,
            self.ua.port,
            "+".join(self.ua.transport.families),
            self.addresses.describe(),
            self.config.rtp.ports,
            self.rtp_families.describe(),
        )

    async def set_trunk(self, name: str, config: TrunkConfig | None) -> None:
        """Start the trunk `name` with `config` (after stopping, thus unregistering, the
        one of that name), or only stop it (None). Calls through it go on: their dialogs
        are the user agent's. The router sees the change at once (the same list)."""
        old = next((t for t in self.trunks if t.name == name), None)
        if old is not None:
            # unregistered first: the new registration may bind the very same contact
            self.trunks.remove(old)
            await old.stop()
        if config is not None:
            trunk = Trunk(config, self.ua)
            self.trunks.append(trunk)
            if self.started:
                trunk.start()

    async def _music_on_hold(self) -> MusicOnHold:
        media = self.config.media
        store = self.config.store.path
        data = None if store == ":memory:" else Path(store).parent
        try:
            return await load_music(Path(media.moh_dir) if media.moh_dir else None, data)
        except (AudioError, OSError) as exc:
            raise ConfigError(f"music on hold: {exc}") from None

    async def drain(self, timeout: float) -> None:
        """Leave the cluster: probes and new requests from the front door get 503 (so it
        sends them to the other nodes) while the live calls go on; returns when they
        have ended, or after ``timeout`` seconds."""
        self.ua.draining = True
        log.info("draining: %d channel(s) live, waiting up to %g s", len(self.channels), timeout)
        deadline = asyncio.get_running_loop().time() + timeout
        while self.channels and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.2)

    async def stop(self) -> None:
        """Hang up every live call, unregister from trunks, close sockets."""
        if not self.started:
            return
        self.started = False
        live = list(self.channels)
        if live:
            log.info("switch stopping: hanging up %d channel(s)", len(live))
            # The BYEs go out at once; a peer that never answers must not hold us for the
            # 32 s a BYE transaction may last.
            hangups = asyncio.gather(
                *(ch.hangup("switch shutdown") for ch in live), return_exceptions=True
            )
            try:
                await asyncio.wait_for(hangups, SHUTDOWN_GRACE)
            except TimeoutError:
                log.warning("switch stopping: %d BYE(s) unanswered", len(self.channels))
        self.conferences.close()
        await asyncio.gather(*(t.stop() for t in self.trunks), return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        if self.voicemail is not None:
            await self.voicemail.stop()
        try:  # the final NOTIFYs: a subscriber that never answers must not hold us
            await asyncio.wait_for(
                asyncio.gather(self.mwi.stop(), self.lamps.stop()), SHUTDOWN_GRACE
            )
        except TimeoutError:
            log.warning("switch stopping: final NOTIFY(s) unanswered")
        await self.keepalive.stop()
        self.clock.stop()
        await self.ua.stop()
        if self._owns_store:
            self.store.close()

    def _connections_in_use(self, keys: list[tuple[str, str, int]]) -> set[tuple[str, str, int]]:
        """Of these idle connections, those a live registration (its flow) or call uses."""
        used = self.ua.dialog_peers()
        used.update((b.transport, b.source_host, b.source_port) for b in self.store.live_bindings())
        return used.intersection(keys)

    def _is_trunk(self, host: str, port: int) -> bool:
        """Exempt from the flood limits: a trunk, or the cluster's front door (every
        phone's and carrier's requests come from its address)."""
        if self.front_door is not None and self.front_door.is_door(host, port):
            return True
        return self.router.trunk_for_source(host, port) is not None

    def _rtp_timed_out(self, channel: Channel) -> None:
        # the bridge (or the call service) hangs up the other leg with the same cause
        self._spawn(channel.hangup(RTP_TIMEOUT))

    def _spawn(self, coro: Coroutine[Any, Any, object]) -> asyncio.Task[object]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[object]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("task failed", exc_info=task.exception())

    def health(self) -> dict[str, object]:
        return {
            "status": "ok" if self.started else "stopped",
            "sip": {
                "address": self.addresses.default,
                "port": self.ua.port,
                "tls_port": self.ua.transport.tls_port if self.tls else None,
            },
            "channels": len(self.channels),
            "unreachable_contacts": self.keepalive.unreachable(),
            "trunks": {t.name: t.health() for t in self.trunks},
        }

    def extensions_status(self) -> list[ExtensionStatus]:
        """Every extension with its live registrations and their reachability."""
        names = {r.number: r.settings.name for r in self.extension_settings.records()}
        return all_extension_status(self.store, names, self.keepalive.reachable, time.time())

    def extension_status(self, number: str) -> ExtensionStatus | None:
        """One extension as `extensions_status` shows it; None if there is no such number."""
        extension = self.store.extension(number)
        if extension is None:
            return None
        settings = self.extension_settings.get(number)
        name = settings.name if settings is not None else ""
        return extension_status(self.store, extension, name, self.keepalive.reachable, time.time())

    def _codecs_of(self, number: str) -> tuple[str, ...]:
        """The codecs an extension's legs may use: `[media] codecs`, limited to the
        extension's own list when it has one (in its order)."""
        enabled = self.codecs_for(EndpointKind.EXTENSION)
        settings = self.extension_settings.get(number)
        if settings is None or not settings.codecs:
            return enabled
        own = tuple(name.upper() for name in settings.codecs)
        # none of its codecs enabled for phones: its own list (set later, and narrower)
        return tuple(name for name in own if name in enabled) or own

    def _admit_registration(self, number: str, transport: str, devices: int) -> str | None:
        """The extension's limits on a REGISTER: why it is refused, None if it is not."""
        settings = self.extension_settings.get(number)
        if settings is None:
            return None
        if settings.transports and transport.upper() not in settings.transports:
            return f"Transport {transport.upper()} Not Allowed"
        if devices > settings.max_devices:
            return f"Too Many Devices (at most {settings.max_devices})"
        return None

    def _new_binding(self, binding: Binding) -> None:
        """A device registered anew: its message lamp and its watchers' busy lamps."""
        self.mwi.registered(binding)
        self.lamps.device_registered(binding)

    def _account_of(self, number: str) -> str | None:
        """The account extension `number` belongs to ("" = none); None: no such one."""
        if self.store.extension(number) is None:
            return None
        settings = self.extension_settings.get(number)
        return settings.account if settings is not None else ""

    def codecs_for(self, kind: EndpointKind) -> tuple[str, ...]:
        """The codecs a leg to or from `kind` offers and accepts: `[media] codecs` for
        phones, G.711 for trunks (carriers: transcoded in the bridge)."""
        if kind is EndpointKind.EXTENSION:
            return tuple(self.config.media.codecs)
        return G711

    def media_address(self, peer_host: str | None) -> str:
        """The address SDP c= names for a leg whose SIP peer is at `peer_host`."""
        advertised = self.ua.advertised(peer_host)
        # behind NAT, a peer outside the local networks is told the external address
        # even when RTP is bound to one local address
        if self._rtp_fixed and advertised != self.addresses.external:
            return self._rtp_fixed
        return advertised

    def _leg_media(self, peer_host: str, offered: str | None = None) -> tuple[str, str]:
        """(RTP bind address, SDP c= address) for a leg whose SIP peer is at `peer_host`
        and whose offer, if any yet, names `offered`.

        The socket takes the family of where the media goes: the SIP peer's, unless
        the offer names an address of the other family (a dual-stack phone whose SIP
        is IPv4 and whose SDP is IPv6), which is then answered from that family. A
        family this machine does not serve keeps the configured one, whose socket
        refuses the offer at negotiation (488).
        """
        target = peer_host
        if offered and version_of(offered) != version_of(peer_host) and _is_address(offered):
            target = offered
        bind = self.rtp_families.bind_address(target)
        if bind is None:
            return self.rtp_families.default, self.media_address(peer_host)
        return bind, self.media_address(target)

    # -- incoming requests --------------------------------------------------

    def _on_request(self, st: ServerTransaction) -> None:
        method = st.request.method
        if self.ua.draining and self.front_door is not None and self.front_door.trusts(st.peer):
            # leaving the cluster: the front door gives it to another node
            response = self.ua.response(st.request, 503, "Draining", to_tag=new_tag())
            response.headers.add("Retry-After", "60")
            st.respond_stateless(response)
            return
        if method == "REGISTER":
            assert self.registrar is not None
            self.registrar.handle(st)
        elif method == "INVITE":
            self._spawn(self._answering(st, self._incoming_call(st)))
        elif method == "SUBSCRIBE":
            assert self.auth is not None
            user = self.auth.authenticate(st, self.ua)  # like REGISTER
            if user is not None:
                self.event_packages.subscribe(st, user)
        else:
            st.respond_stateless(self.ua.response(st.request, 405, "Method Not Allowed"))

    async def _answering(self, st: ServerTransaction, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work``, the task that answers ``st``: if it raises, the request still
        gets its answer (500, logged once with the Call-ID) and its channel is let go."""
        try:
            await work
        except Exception:
            self._internal_error(st)

    def _internal_error(self, st: ServerTransaction) -> None:
        """Answer 500 (called from an ``except`` block) and hang up the INVITE's channel."""
        self.ua.answer_failure(st)
        for channel in self.channels:
            session = channel.session
            if isinstance(session, IncomingInvite) and session.st is st:
                self._spawn(channel.hangup("internal error", 500))

    async def _incoming_call(self, st: ServerTransaction) -> None:
        assert self.auth is not None
        request = st.request
        source = st.peer
        if self.front_door is not None:  # a carrier's INVITE relayed by the front door
            source = self.front_door.origin(request, st.peer)
        trunk = self.router.trunk_for_source(source.host, source.port, source.transport)
        caller_number = request.from_addr.uri.number or ""
        if trunk is not None:
            caller = Endpoint(EndpointKind.TRUNK, trunk.name, caller_number)
        else:
            user = self.auth.authenticate(st, self.ua)
            if user is None:
                return  # challenged (401, stateless) or refused: no dialog usage made
            caller = Endpoint(EndpointKind.EXTENSION, user, user)
        invite = IncomingInvite(self.ua, st)
        if not invite.negotiate_timer(self.session_timers):
            return  # 422: the interval it asks for is below our Min-SE
        try:
            replaces = Replaces.of(request)
        except SipParseError as exc:
            invite.reject(400, exc.reason)
            return
        if replaces is not None:
            await self._replacing_call(st, invite, caller, trunk, replaces)
            return
        # tel: and user=phone URIs route by their number (RFC 3966, RFC 3261 19.1.6)
        number = normalize(request.uri.number or request.to_addr.uri.number or "")
        if number == VOICEMAIL_ACCESS and trunk is None:
            await self._voicemail_access(st, invite, caller)
            return
        feature = feature_codes.parse(number) if trunk is None else None
        if feature is not None:
            await self._feature_call(st, invite, caller, feature)
            return
        if trunk is not None and self.on_number is not None:
            did = self.numbers.lookup(number)
            if did is not None:
                await self._numbered_call(st, invite, caller, trunk, did)
                return
        # From a trunk only our own numbers are reachable: no relaying back out (toll fraud).
        route = self.router.route(number, allow_trunk=trunk is None)
        if route is None:
            log.info("call %s from %s to %s: no route", request.call_id, caller.name, number)
            invite.reject(404, "Not Found")
            return
        if route.kind == EndpointKind.CONFERENCE:
            await self._conference_call(st, invite, caller, trunk, number)
            return
        forwarded = self.forwarder.forwarded(route)
        if isinstance(forwarded, call_forwarding.Divert):
            log.info("call %s to %s: %s", request.call_id, route.number, forwarded.reason)
            if self._has_voicemail(route, route.number):  # DND: its voicemail takes it
                made = await self._inbound_channel(st, invite, caller, trunk)
                if made is not None:
                    self._answer_to_voicemail(made[0], invite, made[1], route.number)
                return
            invite.reject(forwarded.status, "Busy Here")
            return
        route = forwarded
        made = await self._inbound_channel(st, invite, caller, trunk)
        if made is None:
            return
        inbound, answer = made
        log.info(
            "call %s: %s -> %s via %s", request.call_id, inbound.name, route.number, route.kind
        )
        caller_id = caller_number if trunk is not None else caller.name
        caller_name = request.from_addr.display
        if trunk is None:
            settings = self.extension_settings.get(caller.name)
            if settings is not None:
                if route.kind == EndpointKind.TRUNK and settings.outside_caller_id:
                    caller_id = settings.outside_caller_id  # the extension's, for outside calls
                # a phone that sends no display name shows the extension's
                caller_name = caller_name or settings.name or None
        fallback = self._fallback(route, caller_id, caller_name)
        # the voicemail of the extension rung (the dialed one, or where it forwards)
        box = route.number if self._has_voicemail(route, route.number) else None
        try:
            outbound = await self.originate(
                route.number,
                caller_id=caller_id,
                route=route,
                caller_name=caller_name,
                timeout=self.forwarder.ring_seconds(route),
            )
        except SwitchError as exc:
            if fallback is not None:
                await self._fall_back(
                    inbound, invite, answer, fallback, exc.status, exc.reason, voicemail=box
                )
                return
            if box is not None and exc.status in VOICEMAIL_STATUSES:
                self._answer_to_voicemail(inbound, invite, answer, box)
                return
            invite.reject(exc.status, exc.reason)
            inbound.failed(exc.reason, exc.status)
            return
        self._join(inbound, invite, answer, outbound, fallback, voicemail=box)

    # -- forwarding, DND, feature codes, pickup -----------------------------

    def _fallback(self, route: Route, caller_id: str, caller_name: str | None) -> Fallback | None:
        """What rings for the caller when the extension on ``route`` is busy or does not
        answer (forwarding on busy / no answer, later voicemail); None for a trunk."""
        if route.kind != EndpointKind.EXTENSION:
            return None

        async def fallback(status: int) -> Channel | None:
            target = self.forwarder.after_failure(route, status, caller_id)
            if target is None:
                return None
            return await self.originate(
                target.number, caller_id=caller_id, route=target, caller_name=caller_name
            )

        return fallback

    async def _fall_back(
        self,
        inbound: Channel,
        invite: IncomingInvite,
        answer: bytes,
        fallback: Fallback,
        status: int,
        cause: str,
        *,
        voicemail: str | None = None,
    ) -> Channel | None:
        """The extension failed with ``status``: ring what takes its calls then (that
        leg, bridged to the caller when it answers), else its ``voicemail`` box takes the
        caller, else tell the caller (None)."""
        try:
            outbound = await fallback(status)
        except SwitchError as exc:
            log.info("channel %s: forwarding failed: %s", inbound.name, exc.reason)
            outbound = None
        if inbound.state not in (ChannelState.DOWN, ChannelState.RINGING, ChannelState.EARLY):
            if outbound is not None:  # the caller left meanwhile
                await outbound.hangup("caller gone")
            return None
        if outbound is None:
            if voicemail is not None and status in VOICEMAIL_STATUSES:
                self._answer_to_voicemail(inbound, invite, answer, voicemail)
                return None
            code = caller_status(status)
            invite.reject(code)
            inbound.failed(cause, code)
            return None
        self._join(inbound, invite, answer, outbound)
        return outbound

    async def _numbered_call(
        self,
        st: ServerTransaction,
        invite: IncomingInvite,
        caller: Endpoint,
        trunk: Trunk,
        did: InboundNumber,
    ) -> None:
        """A call from a trunk to one of our inbound numbers: its handler decides."""
        assert self.on_number is not None
        made = await self._inbound_channel(st, invite, caller, trunk)
        if made is None:
            return
        inbound, answer = made
        log.info(
            "call %s: %s -> number %s (account %s)",
            st.request.call_id,
            inbound.name,
            did.number,
            did.account,
        )
        invite.on_cancel = lambda: inbound.failed("caller cancelled", 487)
        await self.on_number(
            InboundCall(inbound, invite, answer, did, caller.number, st.request.from_addr.display)
        )

    async def ring_extension(self, call: InboundCall, extension: str) -> Channel | None:
        """Ring ``extension`` for a call not answered yet, relaying its progress to the
        caller and bridging them on answer; None when it cannot be rung (the caller has
        been refused)."""
        # the extension's DND and forwarding apply as to a call dialed to it
        forwarded = self.forwarder.forwarded(Route(EndpointKind.EXTENSION, extension))
        if isinstance(forwarded, call_forwarding.Divert):
            call.refuse(forwarded.status, "Busy Here")
            return None
        fallback = self._fallback(forwarded, call.caller_id, call.caller_name)
        try:
            outbound = await self.originate(
                forwarded.number,
                caller_id=call.caller_id,
                route=forwarded,
                caller_name=call.caller_name,
                timeout=self.forwarder.ring_seconds(forwarded),
            )
        except SwitchError as exc:
            if fallback is not None:
                return await self._fall_back(
                    call.channel, call.invite, call.answer, fallback, exc.status, exc.reason
                )
            call.refuse(exc.status, exc.reason)
            return None
        self._join(call.channel, call.invite, call.answer, outbound, fallback)
        return outbound

    async def _feature_call(
        self,
        st: ServerTransaction,
        invite: IncomingInvite,
        caller: Endpoint,
        request: feature_codes.FeatureRequest,
    ) -> None:
        """An extension dialed a feature code: a setting changed and confirmed with a
        tone (softswitch.feature_calls), or a ringing call picked up (softswitch.pickup)."""

        def leg() -> Coroutine[Any, Any, tuple[Channel, bytes] | None]:
            return self._inbound_channel(st, invite, caller, None)

        def answered() -> Coroutine[Any, Any, Channel | None]:
            return self._answered_channel(st, invite, caller, None)

        if request.feature in PICKUP_FEATURES:
            targets = pickup_targets(request, caller.name, self.config.extensions)
            await pickup_call(invite, targets, self.channels, self._pickups, leg)
        else:
            features = self.call_features
            await settings_call(invite, caller.name, request, features, answered, self.clock)

    # -- voicemail ----------------------------------------------------------

    def _has_voicemail(self, route: Route, number: str) -> bool:
        return route.kind == EndpointKind.EXTENSION and self._box_takes_calls(number)

    def _box_takes_calls(self, number: str) -> bool:
        """Has `number` a box, and its voicemail on (the extension's setting)?"""
        if self.voicemail is None or not self.voicemail.has_box(number):
            return False
        settings = self.extension_settings.get(number)
        return settings is None or settings.voicemail

    def _open_box(self, number: str, account: str) -> bool:
        """A box for an extension whose voicemail is turned on; False: no voicemail here."""
        if self.voicemail is None:
            return False
        self.voicemail.boxes.open(number, account)
        return True

    def _voicemail_for(self, route: Route, number: str, status: int) -> bool:
        """Does a call to `number` that failed with `status` go to its voicemail?"""
        return status in VOICEMAIL_STATUSES and self._has_voicemail(route, number)

    @staticmethod
    def _answer(inbound: Channel, invite: IncomingInvite, answer: bytes) -> bool:
        """The switch answers the caller itself (voicemail, a room, *97); False when the
        caller has gone meanwhile (its leg is let go)."""
        try:
            invite.answer(answer)
        except SipError:
            inbound.failed("caller gone", 487)
            return False
        inbound.up()
        return True

    def _answer_to_voicemail(
        self, inbound: Channel, invite: IncomingInvite, answer: bytes, extension: str
    ) -> None:
        """Answer the caller, who was ringing `extension`, and let it leave a message."""
        if not self._answer(inbound, invite, answer):
            return
        log.info("channel %s: to the voicemail of %s", inbound.name, extension)
        self._spawn(self.to_voicemail(inbound, extension))

    async def _voicemail_access(
        self, st: ServerTransaction, invite: IncomingInvite, caller: Endpoint
    ) -> None:
        """An extension dialed *97: its own box's PIN and menu."""
        if self.voicemail is None or not self.voicemail.has_box(caller.name):
            invite.reject(404, "No Voicemail Box")
            return
        inbound = await self._answered_channel(st, invite, caller, None)
        if inbound is None:
            return
        log.info("call %s: %s listens to its voicemail", st.request.call_id, inbound.name)
        await self.voicemail.listen(inbound, caller.name)

    async def to_voicemail(self, channel: Channel, extension: str) -> None:
        """The entry point for anything routing a caller to a voicemail box (a DID, an
        IVR): `channel`, answered, hears the box's greeting and leaves a message; the
        channel is hung up afterwards. Raises VoicemailError for a box that is not there."""
        if self.voicemail is None:
            raise VoicemailError(f"extension {extension} has no voicemail")
        await self.voicemail.take_message(channel, extension)

    async def _answered_channel(
        self,
        st: ServerTransaction,
        invite: IncomingInvite,
        caller: Endpoint,
        trunk: Trunk | None,
    ) -> Channel | None:
        """The caller's leg, answered by the switch itself (*97, a room, a feature code);
        None once the INVITE was refused or the caller went away."""
        made = await self._inbound_channel(st, invite, caller, trunk)
        if made is None or not self._answer(made[0], invite, made[1]):
            return None
        return made[0]

    async def _inbound_channel(
        self,
        st: ServerTransaction,
        invite: IncomingInvite,
        caller: Endpoint,
        trunk: Trunk | None,
    ) -> tuple[Channel, bytes] | None:
        """The caller's leg (RTP, SRTP, the answer to its offer or our late offer) in the
        registry with the SDP for our 2xx; None once the INVITE has been refused."""
        request = st.request
        try:
            srtp = LegSrtp(
                leg_mode(
                    configured_mode(self.config, trunk.config if trunk is not None else None),
                    st.peer.transport,
                    over_plain_sip=self.config.rtp.srtp_over_plain_sip,
                )
            )
        except sdp.SdpError as exc:
            log.info("call %s from %s: %s", request.call_id, caller.name, exc)
            invite.reject(488, "Not Acceptable Here")
            return None
        bind, advertised = self._leg_media(st.peer.host, _offered_address(request.body))
        try:
            rtp = await RtpSession.open(bind, self.ports, symmetric=self.config.rtp.symmetric)
        except (OSError, RuntimeError) as exc:
            log.error("call %s: no RTP port: %s", request.call_id, exc)
            invite.reject(503, "Service Unavailable")
            return None
        inbound = Channel(
            self._name(caller.name),
            Direction.INBOUND,
            caller,
            invite,
            rtp,
            advertised,
            srtp=srtp,
            codecs=self.codecs_for(caller.kind),
        )
        # in the registry at once: whatever happens next, the channel (and its RTP port)
        # is let go through it, a failure (_internal_error) included
        self.channels.add(inbound)
        inbound.on_refer = self.transfers.refer
        if caller.kind == EndpointKind.EXTENSION:
            inbound.codecs = self._codecs_of(caller.name)
        if request.body:
            try:
                answer = inbound.answer_offer(request.body)
            except SipError as exc:
                invite.reject(488, "Not Acceptable Here")
                inbound.failed(f"bad offer: {exc}", 488)
                return None
        else:
            # Late offer (RFC 3261 13.2.1): we offer in the 200 OK, the ACK answers.
            answer = inbound.offer()
            invite.on_ack_answer = lambda body: self._late_answer(inbound, answer, body)
        return inbound, answer

    async def _conference_call(
        self,
        st: ServerTransaction,
        invite: IncomingInvite,
        caller: Endpoint,
        trunk: Trunk | None,
        room: str,
    ) -> None:
        """A caller dialed a conference room: answered by the switch, then let in."""
        settings = self.conferences.settings(room)
        live = self.conferences.live(room)
        if settings is None:
            invite.reject(404, "Not Found")
            return
        if live is not None and len(live) >= live.max_participants:
            invite.reject(486, "Busy Here")
            return
        inbound = await self._answered_channel(st, invite, caller, trunk)
        if inbound is None:
            return
        log.info("call %s: %s -> conference %s", st.request.call_id, inbound.name, room)
        await self.join_conference(inbound, room)

    async def join_conference(self, channel: Channel, room: str) -> Participant | None:
        """Let an answered ``channel`` into conference ``room`` once it typed the room's
        PIN (if any); a caller refused (wrong PIN thrice, room full or gone) is hung up.
        The entry point for anything that routes a call to a room (an IVR, a number)."""
        settings = self.conferences.settings(room)
        pin = settings.pin if settings is not None else ""
        lobby = asyncio.ensure_future(admitted(channel, pin, self.clock))
        # a caller who hangs up while typing the PIN ends the lobby at once
        await asyncio.wait((lobby, channel.hungup), return_when=asyncio.FIRST_COMPLETED)
        if not lobby.done():
            lobby.cancel()
            return None
        if settings is None or not lobby.result():
            log.info("conference %s: %s refused", room, channel.name)
            await channel.hangup("conference refused")
            return None
        if channel.state != ChannelState.UP:
            return None
        try:
            return self.conferences.open(settings).join(channel)
        except RoomFull as exc:
            log.info("%s: %s turned away", exc, channel.name)
            await channel.hangup("conference full")
            return None

    async def dial_conference(
        self, room: str, number: str, *, caller_id: str | None = None
    ) -> Channel:
        """Call ``number``; when it answers it joins conference ``room`` (no PIN asked:
        the room's owner invited it). SwitchError if the room is unknown or full."""
        settings = self.conferences.settings(room)
        if settings is None:
            raise SwitchError(f"no conference room {room}", 404)
        live = self.conferences.live(room)
        if live is not None and len(live) >= live.max_participants:
            raise SwitchError(f"conference {room} is full", 486)
        channel = await self.originate(number, caller_id=caller_id or room)

        def on_event(event: ChannelEvent) -> None:
            if event.state != ChannelState.UP:
                return
            try:
                self.conferences.open(settings).join(channel)
            except RoomFull as exc:
                log.info("%s: %s turned away", exc, channel.name)
                self._spawn(channel.hangup("conference full"))

        channel.add_listener(on_event)
        return channel

    async def _replacing_call(
        self,
        st: ServerTransaction,
        invite: IncomingInvite,
        caller: Endpoint,
        trunk: Trunk | None,
        replaces: Replaces,
    ) -> None:
        """An INVITE with Replaces (RFC 3891), answered at once: the caller takes the
        place of the leg on the named dialog, which gets a BYE (a confirmed dialog) or a
        CANCEL (one still ringing: the call it rang for is picked up)."""
        request = st.request
        try:
            old = replaced_channel(replaces, self.ua.dialogs, self.ua.early, self.channels)
            if old.state != ChannelState.UP and old not in self._pickups:
                raise ReplaceRefused(481, "Call/Transaction Does Not Exist")
        except ReplaceRefused as exc:
            log.info(
                "call %s from %s: Replaces %s refused: %d %s",
                request.call_id,
                caller.name,
                replaces.call_id,
                exc.status,
                exc.reason,
            )
            invite.reject(exc.status, exc.reason)
            return
        made = await self._inbound_channel(st, invite, caller, trunk)
        if made is None:
            return
        new, answer = made
        try:  # again: the replaced call may have moved on while the RTP port opened
            old = replaced_channel(replaces, self.ua.dialogs, self.ua.early, self.channels)
            if old.state == ChannelState.UP:
                invite.answer(answer)
                take_place(old, new, self.bridge, self._spawn)
            else:
                pick_up = self._pickups.get(old)
                if pick_up is None:
                    raise ReplaceRefused(481, "Call/Transaction Does Not Exist")
                pick_up(new)  # the waiting caller is answered and bridged with `new`
                invite.answer(answer)
        except ReplaceRefused as exc:
            invite.reject(exc.status, exc.reason)
            new.failed(exc.reason, exc.status)
            return
        except SipError:  # our caller cancelled, or the one waiting for the pickup
            invite.reject(481, "Call/Transaction Does Not Exist")
            new.failed("caller gone", 487)
            return
        new.up()
        log.info("call %s: %s replaces %s", request.call_id, new.name, old.name)

    def _late_answer(self, channel: Channel, offer: bytes, body: bytes) -> None:
        try:
            channel.take_answer(offer, body)
        except SipError as exc:
            log.warning("channel %s: bad SDP in ACK: %s", channel.name, exc)
            self._spawn(channel.hangup("bad SDP answer", 488))

    def _join(
        self,
        inbound: Channel,
        invite: IncomingInvite,
        answer: bytes,
        outbound: Channel,
        fallback: Fallback | None = None,
        *,
        voicemail: str | None = None,
    ) -> None:
        """Relay the outbound leg's progress to the caller and bridge them on answer;
        if it fails before that, ``fallback`` may ring another leg for the caller, else
        the caller goes to the ``voicemail`` box, if any."""
        call = Call(inbound, outbound)

        def bridge() -> None:
            if call.bridge is None:
                call.bridge = self.bridge(inbound, outbound)

        def moved_on() -> bool:
            # transferred or picked up: the parties belong to other bridges now
            return (
                call.picked_up
                or call.handed_over
                or (call.bridge is not None and call.bridge.detached)
            )

        def hand_over() -> Channel:
            """Someone else waits for the ringing leg now (a semi-attended transfer):
            the caller's INVITE ends with 487, the leg goes on ringing."""
            call.handed_over = True
            self._pickups.pop(outbound, None)
            self._handovers.pop(inbound, None)
            if call.bridge is not None:  # early media
                call.bridge.stop(detach=True)
            invite.reject(487, "Request Terminated")
            inbound.failed("transferred", 487)
            return outbound

        def pick_up(new: Channel) -> None:
            """``new`` answers for the ringing leg (RFC 3891 call pickup): the caller
            gets the 200 and is bridged with it, the ringing device is cancelled."""
            invite.answer(answer)  # SipError: the caller is gone
            call.picked_up = True
            self._pickups.pop(outbound, None)
            if call.bridge is not None:  # early media
                call.bridge.stop(detach=True)
            inbound.up()
            link(self.bridge(inbound, new), self._spawn)
            self._spawn(outbound.hangup("picked up"))

        def on_outbound(event: ChannelEvent) -> None:
            if event.state in (ChannelState.UP, ChannelState.HUNGUP):
                self._pickups.pop(outbound, None)
                self._handovers.pop(inbound, None)
            if moved_on():
                return
            if event.state == ChannelState.RINGING:
                invite.progress(180)
                inbound.ringing()
            elif event.state == ChannelState.EARLY and invite.request.body:
                invite.progress(183, answer)
                inbound.ringing(early_media=True)
                bridge()
            elif event.state == ChannelState.EARLY:  # late offer: no SDP before the 200 OK
                invite.progress(180)
                inbound.ringing()
            elif event.state == ChannelState.UP:
                try:
                    invite.answer(answer)
                except SipError:
                    self._spawn(outbound.hangup("caller gone"))
                    return
                inbound.up()
                bridge()
            elif event.state == ChannelState.HUNGUP:
                if call.bridge:
                    call.bridge.stop()
                if inbound.state in (ChannelState.DOWN, ChannelState.RINGING, ChannelState.EARLY):
                    if fallback is not None and event.status:
                        self._spawn(
                            self._fall_back(
                                inbound,
                                invite,
                                answer,
                                fallback,
                                event.status,
                                event.cause,
                                voicemail=voicemail,
                            )
                        )
                        return
                    status = caller_status(event.status) if event.status else 480
                    if voicemail is not None and (event.status or 480) in VOICEMAIL_STATUSES:
                        self._answer_to_voicemail(inbound, invite, answer, voicemail)
                        return
                    invite.reject(status)
                    inbound.failed(event.cause, status)
                else:
                    self._spawn(inbound.hangup(event.cause))

        def on_inbound(event: ChannelEvent) -> None:
            if moved_on():
                return
            if event.state == ChannelState.HUNGUP:
                self._pickups.pop(outbound, None)
                self._handovers.pop(inbound, None)
                if call.bridge:
                    call.bridge.stop()
                self._spawn(outbound.hangup(event.cause or "caller hung up"))

        def relay(event: ChannelEvent) -> None:
            # a bug relaying must not leave the caller's INVITE unanswered
            try:
                on_outbound(event)
            except Exception:
                self._internal_error(invite.st)
                self._spawn(outbound.hangup("internal error"))

        self._pickups[outbound] = pick_up
        self._handovers[inbound] = hand_over
        outbound.add_listener(relay)
        inbound.add_listener(on_inbound)
        invite.on_cancel = lambda: inbound.failed("caller cancelled", 487)
        # the caller never PRACKed our reliable 18x: the INVITE was failed with 500
        invite.on_prack_timeout = lambda: inbound.failed("no PRACK from the caller", 500)
        if outbound.state != ChannelState.DOWN:  # it may already have moved on
            relay(ChannelEvent(outbound, outbound.state, outbound.cause, outbound.status))

    def _take_ringing(self, replaces: Replaces, owner: Endpoint) -> Channel | None:
        """The leg still ringing for the caller on the (early) dialog ``replaces``
        names, handed over (a semi-attended transfer); None when that dialog is no
        caller's ringing call; ReplaceRefused (403) when the caller is not ``owner``."""
        usage = self.ua.dialogs.get(replaces.dialog_id)
        if usage is None:
            return None
        for caller, hand_over in self._handovers.items():
            if caller.session is usage and caller.state != ChannelState.UP:
                if not same_party(caller.endpoint, owner):
                    raise ReplaceRefused(403, "Not Your Call")
                return hand_over()
        return None

    # -- outgoing calls -----------------------------------------------------

    async def _dial_for_transfer(self, number: str, caller_id: str) -> Channel | int:
        try:
            return await self.originate(number, caller_id=caller_id or None)
        except SwitchError as exc:
            return exc.status

    async def originate(
        self,
        number: str,
        *,
        caller_id: str | None = None,
        caller_name: str | None = None,
        timeout: float | None = None,
        route: Route | None = None,
    ) -> Channel:
        """Dial ``number`` (an extension or, through a trunk, anything else).

        Returns at once with the channel; watch it with ``add_listener`` or ``wait()``:
        ringing, early, up, then hungup with a cause and the SIP status.
        """
        number = normalize(number)
        route = route or self.router.route(number)
        if route is None:
            raise SwitchError(f"no route to {number!r}", 404)
        routes: dict[str, str] = {}  # Request-URI -> its Route set, if one
        if route.kind == EndpointKind.EXTENSION:
            assert self.registrar is not None
            bindings = self.registrar.contacts(number)
            if not bindings:
                raise SwitchError(f"extension {number} is not registered", 480)
            # devices that stopped answering the keepalive pings are not rung
            bindings = [b for b in bindings if self.keepalive.reachable(b)][:MAX_FORKS]
            if not bindings:
                raise SwitchError(f"extension {number} is unreachable", 480)
            # every registered device of the extension rings (softswitch.forking)
            targets = [
                (SipUri.parse(b.contact), Peer(b.transport, b.source_host, b.source_port))
                for b in bindings
            ]
            if self.binding_paths is not None:
                # RFC 3327: a phone registered through the front door is reached through
                # it, the Path as the Route set (the first hop is where it came from)
                by_contact = self.binding_paths.of(number)
                for uri, b in zip((t[0] for t in targets), bindings, strict=True):
                    if b.contact in by_contact:
                        routes[str(uri)] = by_contact[b.contact]
            local_host = uri_host(self.ua.advertised(targets[0][1].host))
            from_uri = SipUri("sip", caller_id or "anonymous", local_host, self.ua.port)
            to_uri = SipUri("sip", number, local_host, self.ua.port)
            credentials = None
            endpoint = Endpoint(EndpointKind.EXTENSION, number, number)
            prack = PrackMode.SUPPORTED  # phones choose whether their 18x come reliably
            codecs = self._codecs_of(number)
        else:
            trunk = route.trunk
            assert trunk is not None
            targets = [(trunk.uri_for(number), trunk.peer)]
            from_uri = SipUri(
                "sip",
                caller_id or trunk.config.caller_id or "anonymous",
                trunk.host,
                trunk.port if trunk.port != 5060 else None,
            )
            to_uri = None
            credentials = trunk.credentials
            endpoint = Endpoint(EndpointKind.TRUNK, trunk.name, number)
            prack = PrackMode(trunk.config.prack)
            codecs = self.codecs_for(EndpointKind.TRUNK)
        # devices of a family we have no RTP for (IPv6 ones with [rtp] address IPv4) cannot
        # take our offer
        served = [t for t in targets if self.rtp_families.bind_address(t[1].host) is not None]
        if not served:
            raise SwitchError(f"no RTP socket of the family of {targets[0][1].host}", 488)
        targets = served
        srtp = self._outbound_srtp(route, [peer for _, peer in targets])
        # One RTP session per IP family among the devices (an extension with an IPv4 desk
        # phone and an IPv6 softphone rings both); the answering fork's is kept.
        sessions = await self._rtp_per_family([peer.host for _, peer in targets])
        rtp = sessions[version_of(targets[0][1].host)]
        session_id = secrets.randbelow(2**31)
        # One offer per address we advertise: forks may reach us through different routes.
        advertised = [self.media_address(peer.host) for _, peer in targets]
        offers: dict[str, bytes] = {}
        descriptions: dict[bytes, sdp.SessionDescription] = {}
        for media, (_, peer) in zip(advertised, targets, strict=True):
            if media not in offers:
                offer = sdp.make_offer(
                    media,
                    sessions[version_of(peer.host)].local_port,
                    codecs=codecs,
                    session_id=session_id,
                    srtp=srtp.mode,
                    keys=srtp.key_params,
                )
                offers[media] = body = offer.to_bytes()
                descriptions[body] = offer
        invites = [
            OutgoingInvite(
                self.ua,
                uri=uri,
                from_addr=Address(from_uri, caller_name or None),
                to_addr=Address(to_uri or uri),
                peer=peer,
                body=offers[media],
                credentials=credentials,
                contact_user=caller_id or None,
                prack=prack,
                timer_policy=self.session_timers,
                extra_headers=_route_header(routes, uri),
            )
            for (uri, peer), media in zip(targets, advertised, strict=True)
        ]
        channel = Channel(
            self._name(endpoint.name),
            Direction.OUTBOUND,
            endpoint,
            invites[0],
            rtp,
            advertised[0],
            session_id=session_id,
            srtp=srtp,
            codecs=codecs,
        )
        channel.forks = list(invites)
        for body, description in descriptions.items():
            channel.offered(body, description)
        self.channels.add(channel)
        channel.on_refer = self.transfers.refer
        ring_timeout = timeout if timeout is not None else self.config.sip.ring_timeout
        ringing = self._ring_forks(channel, invites, advertised, sessions, ring_timeout)
        self._spawn(self._outgoing(channel, ringing, sessions))
        log.info(
            "originate %s -> %s via %s call_id=%s%s",
            channel.name,
            number,
            route.kind,
            invites[0].request.call_id,
            f" forks={len(invites)}" if len(invites) > 1 else "",
        )
        return channel

    async def _rtp_per_family(self, hosts: list[str]) -> dict[int, RtpSession]:
        """An RTP session for each IP version among `hosts` (every one served)."""
        sessions: dict[int, RtpSession] = {}
        try:
            for host in hosts:
                version = version_of(host)
                if version not in sessions:
                    bind, _ = self._leg_media(host)
                    sessions[version] = await RtpSession.open(
                        bind, self.ports, symmetric=self.config.rtp.symmetric
                    )
        except (OSError, RuntimeError) as exc:
            for session in sessions.values():
                session.close()
            raise SwitchError(f"no RTP port: {exc}", 503) from exc
        return sessions

    def _outbound_srtp(self, route: Route, peers: list[Peer]) -> LegSrtp:
        """The outgoing leg's SRTP; one offer goes to every fork, so one plain fork
        makes optional SRTP plain and mandatory SRTP impossible (488)."""
        configured = configured_mode(
            self.config, route.trunk.config if route.trunk is not None else None
        )
        over_plain = self.config.rtp.srtp_over_plain_sip
        try:
            modes = {leg_mode(configured, p.transport, over_plain_sip=over_plain) for p in peers}
        except sdp.SdpError as exc:
            raise SwitchError(str(exc), 488) from exc
        return LegSrtp(sdp.SrtpMode.OFF if sdp.SrtpMode.OFF in modes else configured)

    async def _outgoing(
        self,
        channel: Channel,
        ringing: Coroutine[Any, Any, None],
        sessions: dict[int, RtpSession],
    ) -> None:
        """Run the leg's INVITEs (``ringing``, its _ring_forks); a bug there fails the leg
        (500, so whoever waits on it, an INVITE we were asked, gets its answer) instead of
        leaving it ringing forever."""
        try:
            try:
                await ringing
            finally:
                # the other family's session, offered to forks that lost; all of them when
                # the leg ended while ringing (closing is idempotent)
                hung_up = channel.state == ChannelState.HUNGUP
                for session in sessions.values():
                    if hung_up or session is not channel.rtp:
                        session.close()
        except Exception:
            log.exception("channel %s call_id=%s: failed", channel.name, channel.call_id)
            await channel.hangup("internal error", 500)

    async def _ring_forks(
        self,
        channel: Channel,
        invites: list[OutgoingInvite],
        advertised: list[str],
        sessions: dict[int, RtpSession],
        ring_timeout: float,
    ) -> None:
        # Each fork's INVITE carries its own offer (the address on the route to it).
        timed_out = False

        def provisional(invite: OutgoingInvite, response: Response) -> None:
            if response.body and response.status == 183:
                channel.use_rtp(sessions[version_of(invite.peer.host)])
                try:
                    channel.take_answer(invite.request.body, response.body)
                except SipError as exc:
                    log.info("channel %s: ignoring early SDP: %s", channel.name, exc)
                    channel.ringing()
                    return
                channel.ringing(early_media=True)
            elif response.status in (180, 181, 182, 183) and channel.state != ChannelState.EARLY:
                channel.ringing()  # (a ringing fork must not cut another fork's early media)

        loop = asyncio.get_running_loop()
        stop: asyncio.Future[None] = loop.create_future()

        def give_up() -> None:
            nonlocal timed_out
            timed_out = True
            for invite in invites:
                self._spawn(invite.cancel())
            # the cancelled devices answer 487 at once; this is for the one that is silent
            timers.append(loop.call_later(CANCEL_GRACE, stop.set_result, None))

        for invite in invites:
            invite.on_provisional = lambda response, invite=invite: provisional(invite, response)
        timers = [loop.call_later(ring_timeout, give_up)]
        try:
            invite, response = await first_answer(invites, stop)
        except NoAnswer as exc:
            log.info("channel %s: %s", channel.name, exc)
            channel.failed(cause_of(408), 408)
            return
        except SipError as exc:
            channel.failed(f"failure: {exc}", 503)
            return
        finally:
            for timer in timers:
                timer.cancel()
        channel.adopt(invite)
        channel.advertised = advertised[invites.index(invite)]  # what its offer named
        channel.use_rtp(sessions[version_of(invite.peer.host)])
        if not 200 <= response.status < 300:
            status = 408 if timed_out else response.status
            channel.failed(cause_of(status), status)
            return
        if channel.state == ChannelState.HUNGUP:
            return  # hung up by us while the 200 was on its way; run() sent the BYE
        if response.body:
            try:
                channel.take_answer(invite.request.body, response.body)
            except SipError as exc:
                log.warning("channel %s: bad SDP answer: %s", channel.name, exc)
                await channel.hangup("bad SDP answer", 488)
                return
        channel.up()

    def bridge(self, a: Channel, b: Channel, *, tap: Tap | None = None) -> Bridge:
        """Bridge two channels on the switch's media clock, ``tap`` (a recorder) set."""
        bridge = Bridge(a, b, self.clock, self.moh, passthrough=self.config.rtp.passthrough)
        bridge.tap = tap
        bridge.start()
        return bridge


def _route_header(routes: dict[str, str], uri: SipUri) -> dict[str, str] | None:
    """The Route of a request to ``uri`` (a phone's Path, RFC 3327), if it has one."""
    route = routes.get(str(uri)) if routes else None
    return {"Route": route} if route else None
