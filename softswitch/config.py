"""Configuration: one TOML file, embedded defaults, SOFTSWITCH_<SECTION>_<KEY> overrides."""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from media.amd import AmdSettings

from .numbers import InboundNumber, NumberError, parse_model
from .ringgroups import RingGroup
from .sip.routes import IPNetwork, LocalAddresses, parse_networks


class ConfigError(Exception):
    """A configuration file or override that cannot be used."""


@dataclass(slots=True)
class SipConfig:
    # With a wildcard host, each peer is told the address of the route to it
    # (softswitch/sip/routes.py), 127.0.0.1 only to peers on loopback. A wildcard
    # ("0.0.0.0:5060" or "[::]:5060") listens on IPv4 and, where the machine has it,
    # IPv6 too (one socket per family, same port); an address ("[::1]:5060",
    # "192.168.1.10:5060") listens on its own family only. tls_listen likewise.
    listen: str = "0.0.0.0:5060"
    # Our address (IP or name) as seen from outside a NAT: advertised in Via/Contact/SDP
    # to peers outside local_networks; "" = none, every peer gets the local address.
    external_address: str = ""
    # CIDRs ("192.168.0.0/16") whose peers get the local address even when
    # external_address is set (Asterisk's local_net); loopback always counts as local.
    local_networks: list[str] = field(default_factory=list)
    realm: str = "softswitch"
    # challenges offered to phones, in order; SHA-256 breaks baresip 1.x and other
    # MD5-only phones, so it is opt-in
    digest_algorithms: list[str] = field(default_factory=lambda: ["MD5"])
    min_expires: int = 60
    max_expires: int = 3600
    # Brute-force guard (softswitch/identity.py AuthGuard), fair to phones behind one NAT:
    # this many failed digests in a minute for one existing extension from one address
    # ban that extension from that address (its neighbours keep working); as many for
    # unknown users ban the whole address (scanners, crackers). svcrack thus gets about
    # auth_failures_per_minute guesses per auth_ban_seconds.
    auth_failures_per_minute: int = 10
    # failures of existing extensions from one address, all users together, in a minute
    # that ban the whole address (one attacker guessing at many extensions at once)
    auth_address_failures_per_minute: int = 30
    # failed digests in an hour, for one extension from one address or for unknown users
    # from one address, that ban it too: a guesser pacing himself just under
    # auth_failures_per_minute still gets no more than this many guesses an hour
    auth_failures_per_hour: int = 60
    auth_ban_seconds: int = 300
    ring_timeout: int = 60  # seconds an outgoing leg may ring before we give up
    # SIP over TLS (RFC 3261 26.2): "host:port" such as "0.0.0.0:5061"; "" = no TLS listener
    tls_listen: str = ""
    # PEM files of the TLS listener; "" = tls-certificate.pem / tls-private-key.pem in the
    # data folder (next to the store). Missing files are made, self-signed, on first start.
    tls_certificate: str = ""
    tls_private_key: str = ""

    # Seconds between the pings that keep each registered phone's NAT mapping open (home
    # routers forget UDP mappings after 30 s or so) and qualify it: an OPTIONS over UDP,
    # an RFC 5626 double CRLF on a TCP/TLS phone's connection (softswitch.keepalive);
    # 0 = off.
    nat_keepalive: int = 25

    # Session timers (RFC 4028): the session interval in seconds we ask for in INVITEs to
    # phones and trunks and grant a caller that asks for none; the refresher re-INVITEs (or
    # UPDATEs) at half of it, and the other side hangs up a call whose refresh never came
    # (cause "session timer expired"). 0 = we ask for none (a caller's request is honoured).
    session_expires: int = 1800
    # The shortest session interval we accept: an INVITE asking for less gets 422 with this
    # Min-SE. RFC 4028 sets 90 s as the floor on the wire; values down to 1 s are allowed
    # only so that tests see a refresh (or its absence) in seconds, and are logged as such.
    min_se: int = 90


SRTP_MODES = ("off", "optional", "mandatory")  # softswitch.sip.sdp.SrtpMode's values
PRACK_MODES = ("off", "supported", "required")  # softswitch.sip.reliable.PrackMode's values
TRUNK_KEEPALIVE = 25  # seconds: TrunkConfig.keepalive of a registering trunk


@dataclass(slots=True)
class RtpConfig:
    # A wildcard ("0.0.0.0" or "::"): each leg's RTP socket takes its peer's family, IPv6
    # where the machine has it (an IPv6 offer is refused with 488 where it has not); an
    # address binds every leg there and serves its own family only.
    address: str = "0.0.0.0"
    ports: str = "20000-29999"
    # SRTP with SDES keys (RFC 4568) on calls with phones and trunks: "off" (plain RTP,
    # RTP/SAVP offers refused), "optional" (SRTP when the peer offers/accepts it) or
    # "mandatory" (no call without it: 488). A trunk's `srtp` overrides it.
    srtp: str = "off"
    # SDES keys are readable by anyone who sees the SIP: they are only sent over TLS
    # unless this is true (tests, or a trusted network)
    srtp_over_plain_sip: bool = False
    # Symmetric RTP: send a leg's media to where its RTP really comes from (a phone behind
    # NAT), latched on the first packet of a negotiated payload type; false: always to the
    # SDP address. Either way RTP from any other address than the latched one is dropped.
    symmetric: bool = True
    # Seconds without any RTP from a leg's peer (not while on hold) before its call is hung
    # up with the cause "rtp timeout"; 0 turns it off.
    timeout: int = 60
    # Bridged legs of the same codec with nothing recording pass the peers' payloads
    # through undecoded (softswitch.bridge.Bridge.relay_tick: less CPU per call, the
    # same audio); false decodes and re-encodes every frame (for comparison runs).
    passthrough: bool = True


@dataclass(slots=True)
class ApiConfig:
    listen: str = "127.0.0.1:8080"


@dataclass(slots=True)
class ConsoleConfig:
    """[console]: the web console on the API's listener (``/`` and ``/console/*``,
    api/console). A session ends after ``session_idle_minutes`` without a click (1 to
    1440) and ``session_hours`` after its login (1 to 168), whichever comes first."""

    enabled: bool = True  # false: no console; / answers 404 as before
    session_idle_minutes: int = 30
    session_hours: int = 12


@dataclass(slots=True)
class MetricsConfig:
    """[metrics]: the Prometheus endpoint ``/metrics`` (softswitch/metrics/).

    Off unless one of the keys is set: the metrics name trunks and campaigns and show the
    traffic, which is the operator's business, not every API client's. Two ways a real
    deployment scrapes it, alone or together:

    * ``token``: ``/metrics`` on the API listener answers only ``Authorization: Bearer
      <token>`` (Prometheus: ``authorization: {credentials: ...}``), 401 otherwise; at
      least 16 characters, e.g. ``python3 -c "import secrets; print(secrets.token_urlsafe())"``,
      or from the environment as SOFTSWITCH_METRICS_TOKEN.
    * ``listen``: "ip:port" of a listener that serves only ``/metrics``, e.g. on a
      management network or loopback ("127.0.0.1:9464", Prometheus exporters' range);
      without a token it needs none there (the address is the protection), with one it
      asks for it too.
    """

    token: str = ""
    listen: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.token or self.listen)


MIN_METRICS_TOKEN = 16


@dataclass(slots=True)
class ApiLimitsConfig:
    """[api_limits]: what a hostile HTTP client may cost (both APIs, one listener).

    Failed logins (CPaaS `account`/`auth` headers, Calls API campaign tokens) are counted
    per source address (the socket's peer; X-Forwarded-For is never trusted) and per
    account name, over `failure_window` seconds (softswitch/login_guard.py).
    """

    # failed logins from one address before it gets 429 + Retry-After for ban_seconds;
    # 0 = never banned
    failures_per_source: int = 20
    # failed logins naming one account (from any address) before tries on it are slowed
    # to one per account_delay_ms (never locked out); 0 = never slowed
    failures_per_account: int = 10
    failure_window: int = 60
    ban_seconds: int = 300
    account_delay_ms: int = 1000
    # seconds a client has to send a request's line and headers (slowloris), and that an
    # idle keep-alive connection stays open
    header_timeout: int = 10
    keep_alive_timeout: int = 5
    # open HTTP connections in all and from one address; more are answered 503 and closed
    max_connections: int = 1000
    max_connections_per_source: int = 256


@dataclass(slots=True)
class SipConnectionsConfig:
    """[sip_connections]: what SIP TCP/TLS clients may cost (softswitch/sip/connection_limits.py).

    Connections over the caps are aborted as they are accepted (one log line per address
    a minute); max_connections is clipped to half the open-file limit at start, so
    descriptors stay for /health, the APIs and RTP. Connections the switch opens (trunks)
    are not counted.
    """

    # accepted TCP and TLS connections open at once, in all and from one address
    max_connections: int = 2048
    max_connections_per_source: int = 128
    # seconds a connection may take to send its first complete message, or to finish
    # one it has begun (a silent connect, a slowloris sender)
    message_timeout: int = 20
    # seconds a connection may send nothing at all (CRLF pongs count) before it is
    # closed; never while a registration's flow goes through it
    idle_timeout: int = 300


@dataclass(slots=True)
class SipLimitsConfig:
    """[sip_limits]: what a SIP flood may cost (softswitch/sip/transaction.py, flood.py).

    Challenges (401) and refusals of requests that go no further are sent statelessly and
    keep nothing; every other request holds a server transaction for up to 32 s.
    """

    # live server transactions in all and from one source address; beyond either a new
    # request is answered 503 with Retry-After: retry_after seconds. A call holds two for
    # 32 s (INVITE, BYE), so a trunk or a source that authenticated (trust_seconds) is
    # held to max_transactions only. Sizing: 64 s x calls per second, e.g. 20,000 holds
    # up to ~310 calls/s; set it higher on a node meant for more.
    max_transactions: int = 20_000
    max_transactions_per_source: int = 2_000
    retry_after: int = 5
    # UDP datagrams per second from one address before it is banned for ban_seconds
    # (dropped unparsed); 0 = no rate limit. An address that authenticated within
    # trust_seconds (a registered phone, an office NAT with 50 phones) may send
    # trusted_rate; a trunk's own address and inbound_from are never banned.
    rate: int = 200
    trusted_rate: int = 2_000
    ban_seconds: int = 60
    trust_seconds: int = 3_600


@dataclass(slots=True)
class StoreConfig:
    """Where the store lives.

    ``url``: ``sqlite:///data/softswitch.db`` (a relative path; four slashes for an
    absolute one) or ``postgresql://user:password@host:port/database``, one database
    shared by every node. "" (the default) = the SQLite file at ``path``, the key of
    older configs. ``path``'s folder is also the node's data folder (TLS certificate,
    music on hold); a sqlite url sets ``path`` to its file. ``pool_size``: PostgreSQL
    connections this node keeps at most (1 to 1000).
    """

    url: str = ""
    path: str = "data/softswitch.db"
    pool_size: int = 10

    @property
    def database_url(self) -> str:
        """The url the store opens."""
        return self.url or f"sqlite:///{self.path}"


@dataclass(slots=True)
class ClusterConfig:
    """[cluster]: this switch as one of N nodes sharing one store behind a Kamailio
    front door (deploy/kamailio/softswitch-front.cfg; README "Several nodes").

    Off (today's single switch) while ``front_doors`` is empty. Keys:

    * ``front_doors``: "ip" or "ip:port" of the Kamailio proxies in front; only requests
      from them may bring a Path (RFC 3327) to store with a registration, an
      X-Softswitch-Source header naming the real sender (a carrier), or be refused 503
      while the node drains.
    * ``node_id``: this node's name in the store: the owner of its live calls, the holder
      of the dialer's leases on the calls it places ("" = the host name and the SIP
      port, e.g. "sw1:5060"). Unique per node and the same across its restarts (a
      restarted node then resolves its own interrupted campaign calls at once).
    * ``lease_seconds``: a node that stops renewing its dialer leases for this long (it
      died, or its store connection did) loses them: another node resolves those calls
      as a restart would (retried if attempts remain). Renewed every third of it.
    * ``api_url``: where the other nodes reach this node's API for a live call it holds
      ("" = http://<api.listen>, fine when they share a host or the API listens on an
      address they reach).
    * ``secret``: shared by all nodes, at least 16 characters: node-to-node requests are
      signed with it (HMAC-SHA256); SOFTSWITCH_CLUSTER_SECRET keeps it out of the file.
    * ``drain_timeout``: seconds SIGTERM waits, answering 503 to probes and new calls,
      for the node's live calls to end before it hangs up the rest (0 = at once).
    """

    front_doors: list[str] = field(default_factory=list)
    node_id: str = ""
    api_url: str = ""
    secret: str = ""
    drain_timeout: int = 0
    lease_seconds: int = 30

    @property
    def enabled(self) -> bool:
        return bool(self.front_doors)


MIN_CLUSTER_SECRET = 16


@dataclass(slots=True)
class MediaConfig:
    recordings_dir: str = "data/recordings"
    uploads_dir: str = "data/uploads"
    tts_engine: str = "flite"
    transcriber: str = "pocketsphinx"  # engine for `transcript: on`
    # engine of the flows' listen steps (media.recognizer): "pocketsphinx" or
    # "package.module:Class"; one that cannot be loaded stops the server at start-up
    recognizer: str = "pocketsphinx"
    # worker processes the listen steps' decoding runs in (media.recognizer_workers),
    # started at the first listen step: pocketsphinx holds the GIL while it decodes, so
    # decoding in the switch's own process can delay media ticks. 0 decodes on a thread
    # of the switch process; 1 to 32 workers (one kept up with 50 calls listening in
    # tools/bench/listen_load.py, about 0.6 of a core)
    recognizer_workers: int = 1
    prompts_dir: str = "data/prompts"  # synthesized speech cache
    stereo_recordings: bool = False  # mixed recording: agent left, customer right
    # Music on hold: a folder of your own audio files (WAV, or MP3/OGG/FLAC through
    # ffmpeg), played one after the other in name order and looped, to every party whose
    # partner put the call on hold. "" = the generated default, music-on-hold.wav in the
    # data folder (next to the store), written at first start.
    moh_dir: str = ""
    # Codecs offered to and accepted from phones (extensions), in order of preference:
    # "pcmu", "pcma", "g722" (16 kHz) and "opus" (RFC 7587, 16 kHz audio, in-band FEC).
    # Trunks always speak G.711 (PCMU, PCMA); a wideband phone's call to a trunk or to a
    # G.711 phone is transcoded in the switch. Wideband is opt-in, e.g.
    # ["opus", "g722", "pcmu", "pcma"]; the default is G.711 only, as before.
    codecs: list[str] = field(default_factory=lambda: ["pcmu", "pcma"])


MAX_RECOGNIZER_WORKERS = 32
PHONE_CODECS = ("PCMU", "PCMA", "G722", "OPUS")  # what [media] codecs may name


@dataclass(slots=True)
class VoicemailConfig:
    """[voicemail]: how messages are recorded and kept (boxes are per [[extensions]])."""

    # messages and recorded greetings, one folder per extension
    dir: str = "data/voicemail"
    # longest message; a caller still talking is cut off (and the message kept)
    max_seconds: int = 120
    # this many seconds of silence end a message; 0 = only # or hanging up end it
    silence_seconds: int = 5
    # an offline transcript of each message ([media] transcriber), after the call
    transcribe: bool = False
    # wrong PINs at *97 (per box, within an hour) before listening is locked for
    # lock_seconds (0 = never locked)
    pin_tries: int = 5
    lock_seconds: int = 300


@dataclass(slots=True)
class AmdConfig:
    """[amd]: answering-machine detection's thresholds, for outbound calls and campaigns
    that ask for it (`amd` in their bodies; media/amd.py). Milliseconds, as in Asterisk's
    amd.conf, whose defaults these are (maximum_words as in Asterisk 13+).

    No voice for initial_silence_ms: unknown. Voice adding up to more than greeting_ms,
    or more than maximum_words words (voiced runs of min_word_length_ms or more, apart by
    between_words_silence_ms): a machine. A shorter answer then after_greeting_silence_ms
    of silence: a person. Nothing decided in total_analysis_ms: unknown. For
    leave_message, a machine's greeting ends with its beep, end_silence_ms of silence,
    or end_timeout_ms after the answer. A frame is voiced above silence_threshold (mean
    absolute 16-bit sample) and three times the line's noise floor.
    """

    initial_silence_ms: int = 2500
    greeting_ms: int = 1500
    after_greeting_silence_ms: int = 800
    total_analysis_ms: int = 5000
    min_word_length_ms: int = 100
    between_words_silence_ms: int = 50
    maximum_words: int = 3
    silence_threshold: int = 256
    end_silence_ms: int = 1200
    end_timeout_ms: int = 30_000

    def settings(self) -> AmdSettings:
        """The detector's settings (ValueError for a value it cannot use)."""
        return AmdSettings(
            initial_silence=self.initial_silence_ms / 1000,
            greeting=self.greeting_ms / 1000,
            after_greeting_silence=self.after_greeting_silence_ms / 1000,
            total=self.total_analysis_ms / 1000,
            min_word_length=self.min_word_length_ms / 1000,
            between_words_silence=self.between_words_silence_ms / 1000,
            maximum_words=self.maximum_words,
            silence_threshold=float(self.silence_threshold),
            end_silence=self.end_silence_ms / 1000,
            end_timeout=self.end_timeout_ms / 1000,
        )


@dataclass(slots=True)
class WebhooksConfig:
    """[webhooks]: delivering each account's events to its status_callback URL
    (softswitch/webhooks/). An account without a URL (the default) records no events.

    A delivery that fails (no connection, a timeout, any answer but 2xx) is retried after
    backoff_first_ms, then twice as long each time up to backoff_max seconds, until
    retry_for seconds after the event; then it is marked failed. An account's events go
    out one at a time, in order; accounts do not wait for each other.
    """

    retry_for: int = 86_400  # seconds an event is retried (24 h)
    backoff_first_ms: int = 5_000  # wait after the first failed attempt
    backoff_max: int = 3_600  # seconds: the longest wait between two attempts
    timeout_ms: int = 10_000  # a receiver must have answered within this
    # receivers sent to at once (accounts with events waiting), one connection each
    max_concurrent: int = 64
    # days delivered and failed events (and their attempts) stay listed at
    # /api/webhooks/deliveries before they are deleted; pending ones are always kept
    keep_days: int = 7


@dataclass(slots=True)
class TrunkConfig:
    """A SIP trunk. Like an extension it seeds the store (softswitch/trunk_admin.py):
    the store's settings win over a changed entry (a warning says so), and
    /api/admin/trunks adds, changes and removes trunks while the switch runs."""

    name: str
    host: str
    username: str = ""
    password: str = ""
    register: bool = True
    caller_id: str = ""
    prefixes: list[str] = field(default_factory=lambda: [""])
    transport: str = "UDP"  # "udp" | "tcp" | "tls"
    # transport = "tls": the carrier's certificate is checked against ca_file ("" = the
    # system's CAs) and its name against the trunk host; verify = false turns both off
    ca_file: str = ""
    verify: bool = True
    expires: int = 300
    # more carrier addresses allowed to send us calls, "ip" or "ip:port" (host:port always is)
    inbound_from: list[str] = field(default_factory=list)
    # the API account that sees this trunk's inbound calls (live statistics, CDRs)
    account: str = ""
    # SRTP for this trunk's calls: "off", "optional", "mandatory"; "" = [rtp] srtp
    srtp: str = ""
    # Seconds between OPTIONS pings to the carrier on the trunk's transport; 0 = off.
    # They keep a NAT router's mapping open so the carrier's calls reach a switch behind
    # it, and show in /health whether the carrier answers (any answer, even 405, counts).
    # Not set: 25 s (under the ~30 s many routers keep an idle UDP mapping, like
    # [sip] nat_keepalive) for a trunk that registers, off for an IP-auth trunk.
    keepalive: int | None = None
    # Reliable provisional responses (RFC 3262, 100rel/PRACK) on calls we send to the
    # carrier: "supported" (our INVITE says Supported: 100rel; the carrier chooses),
    # "required" (Require: 100rel: the carrier must send its 18x reliably or refuse with
    # 420), "off" (neither said). Any reliable 18x that arrives is PRACKed whatever this
    # says. Calls from the carrier follow its own INVITE's Supported/Require.
    prack: str = "supported"

    @property
    def keepalive_interval(self) -> int:
        """`keepalive`, or its default for this trunk when not set."""
        if self.keepalive is not None:
            return self.keepalive
        return TRUNK_KEEPALIVE if self.register else 0


@dataclass(slots=True)
class ExtensionConfig:
    """A local extension. It seeds the store, which is the source of truth
    (softswitch/extensions.py): an entry whose number the store lacks is added with its
    password and settings; for one it has, the store's are kept and a warning names what
    the file says differently (the admin API and `softswitch extensions` change them).
    The forwarding keys and ``dnd`` seed the extension's call
    features (softswitch.store.call_features) on first start only: after that, feature
    codes dialed from the phone and the admin API change them, and they are kept.

    ``forward_always`` / ``forward_busy`` / ``forward_no_answer``: a number (another
    extension, or an outside number through a trunk; digits, optional leading "+",
    never the extension's own) that takes the extension's calls always, when it is busy
    (its devices answer 486), or when it has not answered within ``no_answer_timeout``
    seconds (1 to 300) or is not registered; "" = off. ``dnd``: calls get 486 Busy Here.
    ``pickup_group`` ("" = none; letters, digits, "-" and "_"): extensions of one group
    pick up each other's ringing calls with ``*8``.
    """

    number: str
    password: str
    # a display name for people (the admin API shows it); "" = none
    name: str = ""
    forward_always: str = ""
    forward_busy: str = ""
    forward_no_answer: str = ""
    no_answer_timeout: int = 20
    dnd: bool = False
    pickup_group: str = ""

    # Voicemail (softswitch/voicemail): a caller this extension does not answer (no
    # answer within [sip] ring_timeout, busy, declined/DND, not registered) hears the
    # greeting, a beep, and leaves a message. voicemail_pin (digits, 4 to 12) guards
    # listening from the phone (*97); only its scrypt hash is kept in the store.
    voicemail: bool = False
    voicemail_pin: str = ""
    # the greeting: a WAV file (any rate, mono) if set, else this text spoken by the
    # [media] tts_engine; both "" = "The person at extension N is not available..."
    greeting: str = ""
    greeting_file: str = ""
    # the CPaaS API account that may list, download, mark and delete this box's
    # messages (/api/voicemail/...); "" = none (only *97 from the phone). Busy lamps
    # (softswitch/presence): only extensions with the same account ("" counts as one)
    # may watch this one's calls.
    account: str = ""
    # Seeded into the store with the extension (softswitch/extensions.py: the store is
    # the source of truth, changed at run time through /api/admin/extensions):
    # the caller ID of its calls out through a trunk ("" = its number);
    outside_caller_id: str = ""
    # devices registered at once (1 to 8); a REGISTER binding more is refused (403);
    max_devices: int = 8
    # codecs its calls may use, e.g. ["PCMA"] (offers and answers toward it carry
    # only these); [] = PCMU and PCMA;
    codecs: list[str] = field(default_factory=list)
    # transports it may register over, e.g. ["tls"] (a REGISTER over another one is
    # refused with 403); [] = any.
    transports: list[str] = field(default_factory=list)


MAX_ROOM_SIZE = 100  # participants of one conference room, at most


@dataclass(slots=True)
class ConferenceConfig:
    """A conference room (softswitch.conference): callers dialing ``number`` are mixed.

    ``number`` is digits and may not be an extension's; ``pin`` ("" = none) is asked
    for with three tries; ``record`` writes the room's mix to one WAV in
    media.recordings_dir per session (first join to last leave); ``max_participants``
    (2 to 100) turns further callers away with 486; ``account`` ("" = none) is the
    CPaaS account that sees and manages the room through /api/conferences.
    """

    number: str
    pin: str = ""
    name: str = ""
    record: bool = False
    max_participants: int = 10
    account: str = ""


@dataclass(slots=True)
class AccountConfig:
    id: str
    auth: str


@dataclass(slots=True)
class Config:
    sip: SipConfig = field(default_factory=SipConfig)
    rtp: RtpConfig = field(default_factory=RtpConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    api_limits: ApiLimitsConfig = field(default_factory=ApiLimitsConfig)
    console: ConsoleConfig = field(default_factory=ConsoleConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    sip_connections: SipConnectionsConfig = field(default_factory=SipConnectionsConfig)
    sip_limits: SipLimitsConfig = field(default_factory=SipLimitsConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    media: MediaConfig = field(default_factory=MediaConfig)
    voicemail: VoicemailConfig = field(default_factory=VoicemailConfig)
    webhooks: WebhooksConfig = field(default_factory=WebhooksConfig)
    amd: AmdConfig = field(default_factory=AmdConfig)
    trunks: list[TrunkConfig] = field(default_factory=list)
    extensions: list[ExtensionConfig] = field(default_factory=list)
    accounts: list[AccountConfig] = field(default_factory=list)
    conferences: list[ConferenceConfig] = field(default_factory=list)
    # [[numbers]]: inbound numbers (DIDs) from trunks and where they go, and
    # [[ring_groups]]; kept as tables and validated by softswitch.numbers /
    # softswitch.ringgroups (shape here, references to extensions and flows at start).
    # Example:
    #   [[numbers]]
    #   number = "+15550100"
    #   account = "account_1"
    #   destination = "flow:main menu"  # extension:/ring_group:/flow:/voicemail:/conference:
    #   closed = "extension:101"            # outside hours (hours and closed go together)
    #   hours = { time_zone = "Europe/Berlin", holidays = [2026-12-25], open = [
    #             { days = ["mon", "tue", "wed", "thu", "fri"], start = "09:00", end = "17:00" } ] }
    #   [[ring_groups]]
    #   id = "sales"
    #   account = "account_1"
    #   members = ["101", "102"]
    #   strategy = "simultaneous"           # or "sequential" (member_timeout s each)
    #   timeout = 60                        # then fallback, e.g. "voicemail:101"
    # None configured: a call from a trunk rings the extension with the number it dialed.
    numbers: list[dict[str, Any]] = field(default_factory=list)
    ring_groups: list[dict[str, Any]] = field(default_factory=list)
    # True when no [[extensions]] were configured: the store keeps generated ones
    default_extensions: bool = True

    @property
    def sip_host_port(self) -> tuple[str, int]:
        return split_host_port(self.sip.listen, 5060)

    @property
    def tls_host_port(self) -> tuple[str, int] | None:
        """Where the TLS listener binds, or None when TLS is off."""
        if not self.sip.tls_listen:
            return None
        return split_host_port(self.sip.tls_listen, 5061)

    @property
    def tls_files(self) -> tuple[Path, Path]:
        """The listener's certificate and private key (default: in the data folder)."""
        data = Path(self.store.path).parent
        return (
            Path(self.sip.tls_certificate or data / "tls-certificate.pem"),
            Path(self.sip.tls_private_key or data / "tls-private-key.pem"),
        )

    @property
    def api_host_port(self) -> tuple[str, int]:
        return split_host_port(self.api.listen, 8080)

    @property
    def node_id(self) -> str:
        """This node's name among the cluster's ([cluster] node_id, or host:SIP port)."""
        return self.cluster.node_id or f"{socket.gethostname()}:{self.sip_host_port[1]}"

    @property
    def node_api_url(self) -> str:
        """Where the other nodes reach this node's API ([cluster] api_url or api.listen)."""
        if self.cluster.api_url:
            return self.cluster.api_url.rstrip("/")
        host, port = self.api_host_port
        host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        return f"http://{f'[{host}]' if ':' in host else host}:{port}"

    @property
    def rtp_port_range(self) -> tuple[int, int]:
        try:
            first, last = (int(p) for p in self.rtp.ports.split("-", 1))
        except ValueError:
            raise ConfigError(
                f"rtp.ports must look like 20000-29999, not {self.rtp.ports!r}"
            ) from None
        if not 1024 <= first < last <= 65535:
            raise ConfigError(f"rtp.ports {self.rtp.ports!r} is not a valid range")
        return first, last

    @property
    def sip_local_networks(self) -> list[IPNetwork]:
        try:
            return parse_networks(self.sip.local_networks)
        except ValueError as exc:
            raise ConfigError(f"sip.local_networks: {exc}") from None

    def local_addresses(self) -> LocalAddresses:
        """The chooser of the address each SIP/RTP peer is told."""
        host, _ = self.sip_host_port
        return LocalAddresses(
            host, external=self.sip.external_address, local_networks=self.sip_local_networks
        )


_SECTIONS = {
    "sip": SipConfig,
    "rtp": RtpConfig,
    "api": ApiConfig,
    "api_limits": ApiLimitsConfig,
    "console": ConsoleConfig,
    "metrics": MetricsConfig,
    "sip_connections": SipConnectionsConfig,
    "sip_limits": SipLimitsConfig,
    "store": StoreConfig,
    "cluster": ClusterConfig,
    "media": MediaConfig,
    "voicemail": VoicemailConfig,
    "webhooks": WebhooksConfig,
    "amd": AmdConfig,
}
_LISTS = {
    "trunks": TrunkConfig,
    "extensions": ExtensionConfig,
    "accounts": AccountConfig,
    "conferences": ConferenceConfig,
}
# arrays of tables whose items are pydantic models (nested rules, destinations)
_TABLES: dict[str, type[BaseModel]] = {"numbers": InboundNumber, "ring_groups": RingGroup}


def split_source(text: str) -> tuple[str, int | None]:
    """An `inbound_from` entry: "ip", "ip:port", "[ipv6]:port" or a bare IPv6 literal,
    as (ip, port or None for any port)."""
    if text.count(":") > 1 and not text.startswith("["):
        return text, None  # a bare IPv6 literal: its colons are not a port
    host, port = split_host_port(text, 0)
    return host, port or None


def split_host_port(text: str, default_port: int) -> tuple[str, int]:
    if text.count(":") > 1 and not text.startswith("["):
        return text, default_port  # a bare IPv6 literal: "2001:db8::1"
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, default_port
    try:
        number = int(port)
    except ValueError:
        raise ConfigError(f"bad port in {text!r}") from None
    if not 0 <= number <= 65535:
        raise ConfigError(f"port out of range in {text!r}")
    return host.strip("[]"), number


def load(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read ``path`` (or nothing: the embedded defaults) and apply environment overrides."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    return from_dict(data, os.environ if environ is None else environ)


def from_dict(data: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Config:
    config = Config()
    unknown = set(data) - set(_SECTIONS) - set(_LISTS) - set(_TABLES)
    if unknown:
        raise ConfigError(f"unknown section(s): {', '.join(sorted(unknown))}")
    for name, cls in _SECTIONS.items():
        section = data.get(name, {})
        if not isinstance(section, dict):
            raise ConfigError(f"[{name}] must be a table")
        setattr(config, name, _build(cls, section, name))
    for name, cls in _LISTS.items():
        items = data.get(name, [])
        if not isinstance(items, list):
            raise ConfigError(f"[[{name}]] must be an array of tables")
        setattr(config, name, [_build(cls, item, f"{name}[{i}]") for i, item in enumerate(items)])
    config.default_extensions = "extensions" not in data
    for name, model in _TABLES.items():
        items = data.get(name, [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ConfigError(f"[[{name}]] must be an array of tables")
        for i, item in enumerate(items):
            try:
                parse_model(model, item, f"{name}[{i}]")
            except NumberError as exc:
                raise ConfigError(str(exc)) from None
        setattr(config, name, [dict(item) for item in items])
    _apply_environment(config, environ or {})
    _validate(config)
    return config


def _build(cls: type, values: Mapping[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = set(values) - set(known)
    if unknown:
        raise ConfigError(f"[{where}] unknown key(s): {', '.join(sorted(unknown))}")
    kwargs = {}
    for key, value in values.items():
        kwargs[key] = _coerce(value, known[key].type, f"{where}.{key}")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"[{where}] {exc}") from None


def _coerce(value: Any, type_name: Any, where: str) -> Any:
    expected = str(type_name).removesuffix(" | None")  # None: not set, the default applies
    if expected == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
    elif expected == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
    elif expected == "str":
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value)
    elif expected.startswith("list"):
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",")]
        if isinstance(value, list) and all(isinstance(v, (str, int)) for v in value):
            return [str(v) for v in value]
    raise ConfigError(f"{where}: expected {expected}, got {value!r}")


def _apply_environment(config: Config, environ: Mapping[str, str]) -> None:
    for name, cls in _SECTIONS.items():
        section = getattr(config, name)
        for f in fields(cls):
            key = f"SOFTSWITCH_{name.upper()}_{f.name.upper()}"
            if key in environ:
                setattr(section, f.name, _coerce(environ[key], f.type, key))


def _validate_store(store: StoreConfig) -> None:
    scheme, sep, rest = store.url.partition("://")
    if store.url and (not sep or scheme not in ("sqlite", "postgresql", "postgres")):
        raise ConfigError(
            f"store.url {store.url!r}: expected sqlite:///path or postgresql://user@host/db"
        )
    if scheme == "sqlite":
        if not rest.startswith("/") or rest == "/":
            raise ConfigError(f"store.url {store.url!r}: expected sqlite:///path (three slashes)")
        store.path = rest[1:]
    if not 1 <= store.pool_size <= 1000:
        raise ConfigError("store.pool_size must be 1 to 1000 connections")


def _validate_codecs(media: MediaConfig) -> None:
    names = [str(name).upper() for name in media.codecs]
    unknown = [name for name in names if name not in PHONE_CODECS]
    if not names or unknown or len(set(names)) != len(names):
        raise ConfigError(
            f"media.codecs must list each of {', '.join(c.lower() for c in PHONE_CODECS)} "
            f"at most once, in order of preference (got {media.codecs!r})"
        )
    wideband = [name for name in names if name in ("G722", "OPUS")]
    if wideband:  # imported only then: the CLI's commands read the config without numpy
        from media.codecs import unavailable
    for name in wideband:
        problem = unavailable(name)
        if problem is not None:  # said at start-up rather than as a 488 per call
            raise ConfigError(f"media.codecs: {name.lower()}: {problem}")
    media.codecs = names


def _validate(config: Config) -> None:
    config.sip_host_port, config.api_host_port, config.rtp_port_range  # noqa: B018 raise early
    _validate_tls(config)
    config.sip_local_networks  # noqa: B018 raise early
    algorithms = [a.upper() for a in config.sip.digest_algorithms]
    if not algorithms or set(algorithms) - {"MD5", "SHA-256"}:
        raise ConfigError("sip.digest_algorithms must list MD5 and/or SHA-256")
    config.sip.digest_algorithms = algorithms
    _validate_codecs(config.media)
    if not 0 <= config.media.recognizer_workers <= MAX_RECOGNIZER_WORKERS:
        raise ConfigError(
            f"media.recognizer_workers must be 0 (decode in the switch process) to "
            f"{MAX_RECOGNIZER_WORKERS} worker processes (got {config.media.recognizer_workers!r})"
        )
    if config.rtp.srtp not in SRTP_MODES:
        raise ConfigError(f"rtp.srtp must be one of {', '.join(SRTP_MODES)}")
    if not 0 <= config.rtp.timeout <= 86400:
        raise ConfigError("rtp.timeout must be 0 (off) to 86400 seconds")
    if config.sip.auth_failures_per_minute < 1 or config.sip.auth_ban_seconds < 0:
        raise ConfigError(
            "sip.auth_failures_per_minute must be at least 1, sip.auth_ban_seconds at least 0"
        )
    if config.sip.auth_failures_per_hour < 1:
        raise ConfigError("sip.auth_failures_per_hour must be at least 1")
    if config.sip.auth_address_failures_per_minute < 1:
        raise ConfigError("sip.auth_address_failures_per_minute must be at least 1")
    if not 0 <= config.sip.nat_keepalive <= 3600:
        raise ConfigError("sip.nat_keepalive must be 0 (off) to 3600 seconds")
    if not 1 <= config.sip.min_se <= 86400:
        raise ConfigError("sip.min_se must be 1 to 86400 seconds (RFC 4028: at least 90)")
    expires = config.sip.session_expires
    if expires != 0 and not config.sip.min_se <= expires <= 86400:
        raise ConfigError("sip.session_expires must be 0 (off) or sip.min_se to 86400 seconds")
    _validate_store(config.store)
    _validate_api_limits(config.api_limits)
    if not 1 <= config.console.session_idle_minutes <= 1440:
        raise ConfigError("console.session_idle_minutes must be 1 to 1440")
    if not 1 <= config.console.session_hours <= 168:
        raise ConfigError("console.session_hours must be 1 to 168")
    _validate_metrics(config.metrics)
    if (
        config.metrics.listen
        and split_host_port(config.metrics.listen, 0)[1] == config.api_host_port[1]
    ):
        raise ConfigError("metrics.listen must not be the port of api.listen (set metrics.token)")
    _validate_webhooks(config.webhooks)
    _validate_cluster(config.cluster)
    _validate_sip_connections(config.sip_connections)
    _validate_sip_limits(config.sip_limits)
    if config.media.tts_engine not in ("flite", "espeak-ng", "gtts"):
        raise ConfigError("media.tts_engine must be flite, espeak-ng or gtts")
    if config.media.moh_dir and not Path(config.media.moh_dir).is_dir():
        raise ConfigError(f"media.moh_dir {config.media.moh_dir!r} is not a folder")
    numbers = [e.number for e in config.extensions]
    if len(set(numbers)) != len(numbers):
        raise ConfigError("extension numbers must be unique")
    for ext in config.extensions:
        if not ext.number.isdigit() or not ext.password:
            raise ConfigError(f"extension {ext.number!r}: number must be digits, password set")
        problem = extension_features_problem(ext)
        if problem is not None:
            raise ConfigError(f"extension {ext.number}: {problem}")
        pin = ext.voicemail_pin
        if pin and not (pin.isdigit() and 4 <= len(pin) <= 12):
            raise ConfigError(f"extension {ext.number}: voicemail_pin must be 4 to 12 digits")
        if ext.greeting_file and not os.access(ext.greeting_file, os.R_OK):
            raise ConfigError(
                f"extension {ext.number}: cannot read greeting_file {ext.greeting_file!r}"
            )
        _validate_extension_settings(ext)
    _validate_conferences(config.conferences, set(numbers))
    _validate_voicemail(config.voicemail)
    _validate_amd(config.amd)
    names = [t.name for t in config.trunks]
    if len(set(names)) != len(names):
        raise ConfigError("trunk names must be unique")
    for trunk in config.trunks:
        check_trunk(trunk)


def build_trunk(values: Mapping[str, Any]) -> TrunkConfig:
    """A trunk from a ``[[trunks]]`` table or an API body, checked (ConfigError)."""
    # None: not set, the default applies (keepalive)
    trunk = _build(TrunkConfig, {k: v for k, v in values.items() if v is not None}, "trunk")
    assert isinstance(trunk, TrunkConfig)
    check_trunk(trunk)
    return trunk


def _validate_extension_settings(ext: ExtensionConfig) -> None:
    # the same checks as the admin API's (imported here: that module needs this one)
    from .extension_admin import settings_with
    from .field_error import FieldError
    from .store.extension_settings import ExtensionSettings

    keys = ("name", "account", "outside_caller_id", "max_devices", "codecs", "transports")
    try:
        settings_with(ExtensionSettings(), {key: getattr(ext, key) for key in keys})
    except FieldError as exc:
        raise ConfigError(f"extension {ext.number}: {exc}") from None


TRUNK_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def check_trunk(trunk: TrunkConfig) -> None:
    """A trunk's own settings (not their uniqueness): ConfigError naming the field.
    Normalizes ``transport`` to upper case. The config file and the admin API share it."""
    if not TRUNK_NAME.match(trunk.name):
        raise ConfigError(
            f"trunk {trunk.name!r}: name must be 1 to 64 letters, digits, '_', '.' or '-'"
        )
    try:
        host, _ = split_host_port(trunk.host, 5060)
    except ConfigError as exc:
        raise ConfigError(f"trunk {trunk.name}: host: {exc}") from None
    if not host or not host.isascii() or not all(ch.isalnum() or ch in ".-_:" for ch in host):
        raise ConfigError(f"trunk {trunk.name}: host must be a name or an address")
    for prefix in trunk.prefixes:
        if prefix and not (prefix.lstrip("+").isdigit() and prefix.isascii()):
            raise ConfigError(f"trunk {trunk.name}: prefixes: {prefix!r} is not digits")
    if trunk.caller_id and not trunk.caller_id.lstrip("+").isdigit():
        raise ConfigError(f"trunk {trunk.name}: caller_id must be digits (an optional +)")
    if not 10 <= trunk.expires <= 86400:
        raise ConfigError(f"trunk {trunk.name}: expires must be 10 to 86400 seconds")
    if trunk.transport.upper() not in ("UDP", "TCP", "TLS"):
        raise ConfigError(f"trunk {trunk.name}: transport must be udp, tcp or tls")
    trunk.transport = trunk.transport.upper()
    if trunk.srtp and trunk.srtp not in SRTP_MODES:
        raise ConfigError(f"trunk {trunk.name}: srtp must be one of {', '.join(SRTP_MODES)}")
    if trunk.prack not in PRACK_MODES:
        raise ConfigError(f"trunk {trunk.name}: prack must be one of {', '.join(PRACK_MODES)}")
    if trunk.transport != "TLS" and (trunk.ca_file or not trunk.verify):
        raise ConfigError(f"trunk {trunk.name}: ca_file and verify need transport = tls")
    if trunk.ca_file and not os.access(trunk.ca_file, os.R_OK):
        raise ConfigError(f"trunk {trunk.name}: cannot read ca_file {trunk.ca_file!r}")
    for source in trunk.inbound_from:
        try:
            ip, _ = split_source(source)
        except ConfigError:
            ip = ""
        if not ip:
            raise ConfigError(f"trunk {trunk.name}: inbound_from entry {source!r} is not ip[:port]")
    if trunk.keepalive is not None and not 0 <= trunk.keepalive <= 3600:
        raise ConfigError(f"trunk {trunk.name}: keepalive must be 0 (off) to 3600 seconds")
    if trunk.register and not trunk.username:
        raise ConfigError(f"trunk {trunk.name}: register = true needs a username")


MAX_NO_ANSWER_TIMEOUT = 300


def forward_target_problem(number: str, own: str) -> str | None:
    """Why ``number`` cannot be a forwarding target of extension ``own`` (None: it can)."""
    digits = number.removeprefix("+")
    if not (digits.isdigit() and digits.isascii()) or len(number) > 32:
        return "must be digits (an optional leading +), at most 32"
    if number == own:
        return "may not be the extension itself"
    return None


def extension_features_problem(ext: ExtensionConfig) -> str | None:
    for key in ("forward_always", "forward_busy", "forward_no_answer"):
        target = getattr(ext, key)
        problem = forward_target_problem(target, ext.number) if target else None
        if problem is not None:
            return f"{key} {problem}"
    if not 1 <= ext.no_answer_timeout <= MAX_NO_ANSWER_TIMEOUT:
        return f"no_answer_timeout must be 1 to {MAX_NO_ANSWER_TIMEOUT} seconds"
    group = ext.pickup_group.replace("-", "").replace("_", "")
    if ext.pickup_group and not (group.isalnum() and group.isascii()):
        return "pickup_group must be letters, digits, - and _"
    return None


def room_problem(room: ConferenceConfig, extensions: set[str]) -> str | None:
    """What is wrong with a room's settings (also checked for rooms made by the API)."""
    if not room.number.isdigit() or len(room.number) > 20:
        return f"conference {room.number!r}: number must be 1 to 20 digits"
    if room.number in extensions:
        return f"conference {room.number}: number is an extension's"
    if room.pin and (not room.pin.isdigit() or len(room.pin) > 12):
        return f"conference {room.number}: pin must be 1 to 12 digits (or empty)"
    if not 2 <= room.max_participants <= MAX_ROOM_SIZE:
        return f"conference {room.number}: max_participants must be 2 to {MAX_ROOM_SIZE}"
    return None


def _validate_conferences(rooms: list[ConferenceConfig], extensions: set[str]) -> None:
    numbers = [r.number for r in rooms]
    if len(set(numbers)) != len(numbers):
        raise ConfigError("conference numbers must be unique")
    for room in rooms:
        problem = room_problem(room, extensions)
        if problem is not None:
            raise ConfigError(problem)


def _validate_voicemail(voicemail: VoicemailConfig) -> None:
    ranges = {
        "max_seconds": (1, 3600),
        "silence_seconds": (0, 600),
        "pin_tries": (1, 100),
        "lock_seconds": (0, 86_400),
    }
    for key, (low, high) in ranges.items():
        if not low <= getattr(voicemail, key) <= high:
            raise ConfigError(f"voicemail.{key} must be {low} to {high}")


def _validate_amd(amd: AmdConfig) -> None:
    for key in (
        "initial_silence_ms",
        "greeting_ms",
        "after_greeting_silence_ms",
        "total_analysis_ms",
        "min_word_length_ms",
        "between_words_silence_ms",
        "end_silence_ms",
    ):
        if not 20 <= getattr(amd, key) <= 60_000:
            raise ConfigError(f"amd.{key} must be 20 to 60000 (milliseconds)")
    if not 1000 <= amd.end_timeout_ms <= 120_000:
        raise ConfigError("amd.end_timeout_ms must be 1000 to 120000 (milliseconds)")
    if not 1 <= amd.maximum_words <= 100:
        raise ConfigError("amd.maximum_words must be 1 to 100")
    if not 1 <= amd.silence_threshold <= 32767:
        raise ConfigError("amd.silence_threshold must be 1 to 32767")


def _validate_cluster(cluster: ClusterConfig) -> None:
    for door in cluster.front_doors:
        host, port = split_source(door)
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ConfigError(f"cluster.front_doors: {door!r} is not an ip or ip:port") from None
    if cluster.enabled and len(cluster.secret) < MIN_CLUSTER_SECRET:
        raise ConfigError(
            f"cluster.secret must have at least {MIN_CLUSTER_SECRET} characters"
            " when cluster.front_doors is set"
        )
    if cluster.api_url and not cluster.api_url.startswith(("http://", "https://")):
        raise ConfigError(f"cluster.api_url {cluster.api_url!r} must be an http(s) URL")
    if not 0 <= cluster.drain_timeout <= 86_400:
        raise ConfigError("cluster.drain_timeout must be 0 to 86400 seconds")
    node = cluster.node_id
    if len(node) > 64 or not all(c.isalnum() or c in "-_.:" for c in node):
        raise ConfigError(
            "cluster.node_id must be at most 64 letters, digits, '-', '_', '.' or ':'"
        )
    if not 3 <= cluster.lease_seconds <= 3600:
        raise ConfigError("cluster.lease_seconds must be 3 to 3600")


def _validate_metrics(metrics: MetricsConfig) -> None:
    token = metrics.token
    if token and (
        len(token) < MIN_METRICS_TOKEN
        or not token.isascii()
        or not token.isprintable()
        or " " in token
    ):
        raise ConfigError(
            f"metrics.token must be at least {MIN_METRICS_TOKEN} printable ASCII characters"
            " without spaces"
        )
    if metrics.listen:
        host, port = split_host_port(metrics.listen, 0)
        if not host or port == 0 or not _is_ip(host):
            raise ConfigError(
                f"metrics.listen must be ip:port such as 127.0.0.1:9464, not {metrics.listen!r}"
            )


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _validate_api_limits(limits: ApiLimitsConfig) -> None:
    ranges = {
        "failures_per_source": (0, 100_000),
        "failures_per_account": (0, 100_000),
        "failure_window": (1, 86_400),
        "ban_seconds": (0, 86_400),
        "account_delay_ms": (0, 60_000),
        "header_timeout": (1, 3600),
        "keep_alive_timeout": (1, 3600),
        "max_connections": (1, 1_000_000),
        "max_connections_per_source": (1, 1_000_000),
    }
    for key, (low, high) in ranges.items():
        if not low <= getattr(limits, key) <= high:
            raise ConfigError(f"api_limits.{key} must be {low} to {high}")


def _validate_webhooks(webhooks: WebhooksConfig) -> None:
    ranges = {
        "retry_for": (1, 30 * 86_400),
        "backoff_first_ms": (1, 86_400_000),
        "backoff_max": (1, 86_400),
        "timeout_ms": (100, 300_000),
        "max_concurrent": (1, 10_000),
        "keep_days": (1, 3650),
    }
    for key, (low, high) in ranges.items():
        if not low <= getattr(webhooks, key) <= high:
            raise ConfigError(f"webhooks.{key} must be {low} to {high}")


def _validate_sip_connections(limits: SipConnectionsConfig) -> None:
    ranges = {
        "max_connections": (1, 1_000_000),
        "max_connections_per_source": (1, 1_000_000),
        "message_timeout": (1, 3600),
        "idle_timeout": (1, 86_400),
    }
    for key, (low, high) in ranges.items():
        if not low <= getattr(limits, key) <= high:
            raise ConfigError(f"sip_connections.{key} must be {low} to {high}")


def _validate_sip_limits(limits: SipLimitsConfig) -> None:
    ranges = {
        "max_transactions": (1, 10_000_000),
        "max_transactions_per_source": (1, 10_000_000),
        "retry_after": (1, 3600),
        "rate": (0, 1_000_000),
        "trusted_rate": (0, 1_000_000),
        "ban_seconds": (1, 86_400),
        "trust_seconds": (1, 86_400),
    }
    for key, (low, high) in ranges.items():
        if not low <= getattr(limits, key) <= high:
            raise ConfigError(f"sip_limits.{key} must be {low} to {high}")
    if limits.rate and limits.trusted_rate < limits.rate:
        raise ConfigError("sip_limits.trusted_rate must be at least sip_limits.rate")


def _validate_tls(config: Config) -> None:
    sip = config.sip
    if bool(sip.tls_certificate) != bool(sip.tls_private_key):
        raise ConfigError("sip.tls_certificate and sip.tls_private_key go together: set both")
    where = config.tls_host_port
    if where is None:
        if sip.tls_certificate:
            raise ConfigError("sip.tls_certificate is set but sip.tls_listen is not")
        return
    host, port = where
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError(
            f"sip.tls_listen must be ip:port such as 0.0.0.0:5061, not {sip.tls_listen!r}"
        ) from None
    sip_host, sip_port = config.sip_host_port
    wildcard = {"0.0.0.0", "::", ""}
    if port and port == sip_port and (host == sip_host or {host, sip_host} & wildcard):
        # the TCP listener of sip.listen already holds that port
        raise ConfigError(f"sip.tls_listen {sip.tls_listen!r} is the port of sip.listen")
